/**
 * The capture log's loader: moves closed segments (capture/log.ts) into the store through the
 * events importer — the one door events come in by: validation, dedupe, identity, groups, the
 * import ledger — and removes each segment once it is loaded. It runs in the background; capture
 * requests never wait for it.
 *
 * Batches grow with the load: when the loader is free it closes the active segment and loads
 * everything that arrived while it was busy, so a busy server loads few large batches and a quiet
 * one loads each request within about `delayMs`. When data is already waiting as a load ends, the
 * loader first pauses three times as long as that load took (at most `maxPauseMs`, 5 s), or
 * until the active segment holds `targetBytes` (40 MB, about one DuckDB row group of SDK events),
 * whichever comes first. An import's CPU per event falls steeply with its size (the 100k-event
 * bench store, one thread, 245,760 events in all, the final checkpoint included: 11–13 µs per
 * event in loads of 30,000, 8.7 in loads of 60,000, 6–8.5 in loads of 122,880, one row group:
 * DuckDB writes whole row groups straight to the file instead of the WAL and again at the
 * checkpoint), and it has a fixed part (~0.2 s: the identity pass, the persons and groups
 * refresh, the uuid lookups, each over the store). Pausing as long as the load (until
 * 5d919c3) left loads of ~15,000–30,000 events under the bench's load. So loading takes at
 * most about a quarter of the time, and under load an event is in the store within a few
 * seconds of its 200 (the pause and the load).
 *
 * Loading a segment twice stores nothing twice (killed after the import, before the segment was
 * removed): the segment is imported as the same files in the same order, so its events carry the
 * same keys — their uuids, or, without one, their content and occurrence in the file
 * (docs/ingest.md, "Identity of a record") — and the second import counts them as duplicates in
 * its ledger row.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImportReport } from '../../ingest/report.js';
import type { CaptureLog, Segment } from './log.js';
import { readSegment } from './log.js';

export interface LoaderDeps {
  log: CaptureLog;
  /** Imports one JSON Lines file of events captured on `source` (`capture:/batch/`). */
  load: (file: string, source: string) => Promise<ImportReport>;
  /** Where a segment's events are written as JSON Lines for the importer. */
  spoolDir: string;
  /** Where what the loader has to say goes (stderr in `sextant serve`). */
  report: (line: string) => void;
  /** How long data may wait for the next batch when the loader is free (default 100 ms). */
  delayMs?: number;
  /** How long to wait before loading a segment again after a failure (default 1 s). */
  retryMs?: number;
  /** The longest pause after a load while data is waiting (default 5 s; see above). */
  maxPauseMs?: number;
  /** A pause ends once the active segment holds this much (default 40 MB; see above). */
  targetBytes?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `parts` one after the other as the new file `file`. */
async function writeParts(file: string, parts: Buffer[]): Promise<void> {
  const fh = await open(file, 'w');
  try {
    let [done, total] = [0, 0];
    for (const p of parts) total += p.length;
    while (done < total) {
      done += (await fh.writev(done === 0 ? parts : remainingParts(parts, done))).bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/** What is left of `parts` after the first `skip` bytes (a short write). */
function remainingParts(parts: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (skip >= p.length) skip -= p.length;
    else {
      out.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return out;
}

/** After a load, while data waits, the loader pauses this many times as long as the load took. */
const PAUSE_PER_LOAD = 3;
const DEFAULT_MAX_PAUSE_MS = 5000;
const DEFAULT_TARGET_BYTES = 40 * 1024 * 1024;

export class CaptureLoader {
  readonly #d: LoaderDeps;
  #stopping = false;
  #wake: () => void = () => undefined;
  #loop: Promise<void> | undefined;
  #loadedEvents = 0;
  #loads = 0;
  /** Failed loads since the start (a segment is retried until it loads). */
  #failures = 0;
  /** How long the last round of loads took (ms), while data kept arriving; 0 after an idle wait. */
  #lastLoadMs = 0;

  constructor(deps: LoaderDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Events stored or found stored already (duplicates), and imports run, since the start. */
  get stats(): { events: number; loads: number } {
    return { events: this.#loadedEvents, loads: this.#loads };
  }

  async #run(): Promise<void> {
    const { log } = this.#d;
    while (!this.#stopping) {
      const seg = log.closedSegments()[0];
      if (!seg) {
        if (log.activeBytes > 0) {
          const delay = this.#d.delayMs ?? 100;
          const pause = Math.min(
            PAUSE_PER_LOAD * this.#lastLoadMs,
            this.#d.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS,
          );
          await this.#pauseUntilTarget(Math.max(delay, pause));
          await log.rotate();
        } else {
          this.#lastLoadMs = 0;
          await Promise.race([log.changed(), new Promise<void>((r) => (this.#wake = r))]);
        }
        continue;
      }
      try {
        const t0 = performance.now();
        await this.#loadSegment(seg);
        await log.remove(seg);
        this.#lastLoadMs = performance.now() - t0;
      } catch (e) {
        this.#failures++;
        if (this.#stopping) break;
        this.#d.report(
          `sextant serve: loading capture log segment ${seg.file} failed (kept, retried): ${(e as Error).message}`,
        );
        await this.#pause(this.#d.retryMs ?? 1000);
      }
    }
  }

  /** Pauses `ms`, or until the active segment holds `targetBytes`, or until woken. */
  async #pauseUntilTarget(ms: number): Promise<void> {
    const { log } = this.#d;
    const target = this.#d.targetBytes ?? DEFAULT_TARGET_BYTES;
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const ended = Promise.race([
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
      new Promise<void>((r) => (this.#wake = r)),
    ]).then(() => {
      over = true;
    });
    try {
      // Looked at after each group commit (the log says when its segment grew).
      while (!over && log.activeBytes < target) await Promise.race([ended, log.changed()]);
    } finally {
      clearTimeout(timer);
    }
  }

  #pause(ms: number): Promise<void> {
    return Promise.race([sleep(ms), new Promise<void>((r) => (this.#wake = r))]);
  }

  async #loadSegment(seg: Segment): Promise<void> {
    const read = await readSegment(seg.file);
    if (read.tornBytes > 0) {
      this.#d.report(
        `sextant serve: capture log segment ${seg.file}: ${read.tornBytes} bytes after its last whole record ` +
          `(byte ${read.goodBytes}) are a torn write, never acknowledged: skipped`,
      );
    }
    // One file per capture path, in order of first appearance: the same files every time.
    const bySource = new Map<string, Buffer[]>();
    for (const r of read.records) {
      const list = bySource.get(r.source);
      if (list) list.push(r.lines);
      else bySource.set(r.source, [r.lines]);
    }
    let i = 0;
    for (const [source, parts] of bySource) {
      const file = join(this.#d.spoolDir, `capture-${seg.seq}-${i++}.jsonl`);
      // The records' lines as they lie in the segment, in one `writev` (libuv loops past IOV_MAX
      // itself): no copy of a 40 MB batch into one buffer on the HTTP thread first (5% of its
      // time under load), nor a threadpool round trip per part (`writeFile` of an array).
      await writeParts(file, parts);
      try {
        const report = await this.#d.load(file, source);
        this.#loadedEvents += report.records;
        this.#loads++;
        if (report.rejected.length > 0) {
          // The capture API checks every rule before acknowledging (ingest/posthog/rules.ts
          // `checkEvent`), so this is a disagreement between the two checks: say so loudly.
          this.#d.report(
            `sextant serve: ${report.rejected.length} acknowledged events of ${seg.file} were rejected by the importer ` +
              `(first: line ${report.rejected[0]!.line}: ${report.rejected[0]!.reason})` +
              (report.rejectsFile ? `; kept in ${report.rejectsFile}` : ''),
          );
        }
      } finally {
        await rm(file, { force: true });
      }
    }
  }

  /**
   * Resolves once everything appended before the call is loaded (tests, and `sextant serve` on
   * SIGTERM). With `untilFailure` (SIGTERM) it also resolves, saying so, once a load fails: a
   * segment that cannot load now (a store that refuses it) stays in the log for the next start
   * instead of keeping the server from stopping.
   */
  async settle(opts: { untilFailure?: boolean } = {}): Promise<void> {
    const { log } = this.#d;
    const target = log.activeSeq;
    const failures = this.#failures;
    const done = (): boolean =>
      log.closedSegments().every((s) => s.seq > target) && (log.activeSeq > target || log.activeBytes === 0);
    while (!done()) {
      if (this.#stopping) throw new Error('the capture loader stopped before the log was loaded');
      if (opts.untilFailure && this.#failures > failures) {
        this.#d.report(
          `sextant serve: ${log.closedSegments().length} capture log segment(s) could not be loaded now: ` +
            'kept in the log, loaded at the next start',
        );
        return;
      }
      this.#wake();
      await Promise.race([log.changed(), sleep(50)]);
    }
  }

  /** Stops after the load in progress; what is left stays in the log for the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake();
    await this.#loop;
  }
}
