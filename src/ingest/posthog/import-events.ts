/**
 * `importEvents`: one PostHog-format event file (SPEC §3.1) into the store. The format is sniffed
 * (format.ts); the loading is load-events.ts, on the engine's import steps (store/event-import.ts).
 * Rules: docs/ingest.md.
 */
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Engine } from '../../store/engine.js';
import { eventImportSteps } from '../../store/registry.js';
import type { ImportReport, RejectedRecord } from '../report.js';
import { detectEventFile } from './format.js';
import { finishInterrupted, importSteps, loadEventFile } from './load-events.js';
import { clockSkewSchema, DEFAULT_CLOCK_SKEW_MS, latestEventTime } from './rules.js';

export interface ImportEventsOptions {
  /** Where to write `<basename>.<time>.rejects` with the bad lines verbatim; none when absent. */
  rejectsDir?: string;
  onProgress?: (msg: string) => void;
  /** What `events.source` records (default: the file's absolute path), e.g. `capture:/batch/`. */
  source?: string;
  /** Chunk size (uncompressed bytes) in which clean JSON Lines are loaded; tests use tiny ones. */
  chunkBytes?: number;
  /**
   * How far after the import an event may be dated (default 1 hour, at most 7 days): a later
   * one is rejected as `in the future`. Clocks drift; a date years ahead is a bug.
   */
  clockSkewMs?: number;
  /** The import's time for the future check (default: now). */
  now?: Date;
}

export async function importEvents(
  engine: Engine,
  file: string,
  opts: ImportEventsOptions = {},
): Promise<ImportReport> {
  const steps = await importSteps(engine, 'importing event files');
  const kind = await detectEventFile(file);
  opts.onProgress?.(`${file}: ${kind.format}${kind.gzip ? ' (gzip)' : ''}`);
  const clockSkewMs = clockSkewSchema.parse(opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
  const rejectsFile = opts.rejectsDir ? rejectsPath(opts.rejectsDir, file) : undefined;
  const loaded = await loadEventFile(
    engine,
    steps,
    file,
    kind,
    opts.source ?? resolve(file),
    opts.onProgress,
    {
      chunkBytes: opts.chunkBytes,
      latest: latestEventTime(opts.now ?? new Date(), clockSkewMs),
      rejectsFile,
    },
  );
  const rejected: RejectedRecord[] = loaded.rejected;
  const report: ImportReport = {
    file,
    kind: 'events',
    records: loaded.records,
    inserted: loaded.inserted,
    updated: 0,
    duplicates: loaded.duplicates,
    duplicateRules: loaded.duplicateRules,
    rejected,
  };
  if (rejected.length > 0 && opts.rejectsDir && rejectsFile) {
    report.rejectsFile = rejectsFile;
    mkdirSync(opts.rejectsDir, { recursive: true });
    if (loaded.rejectedText) {
      writeFileSync(report.rejectsFile, loaded.rejectedText.map((r) => (r.raw ?? '') + '\n').join(''));
    } else {
      await copyLines(file, kind.gzip, new Set(rejected.map((r) => r.line)), report.rejectsFile);
    }
  }
  return report;
}

/**
 * Finishes events imports that stopped part way (a crash after some chunks were stored), as the
 * next import would: deduped, events moved to their persons, persons and groups refreshed (see
 * docs/ingest.md, "Interrupted imports"). Nothing to do on a store without such imports, or one
 * without import steps of its own (ClickHouse: imported on a stage). Returns how many were finished.
 */
export async function finishInterruptedImports(engine: Engine): Promise<number> {
  const steps = await eventImportSteps(engine);
  return steps ? finishInterrupted(engine, steps) : 0;
}

/** `<dir>/<basename>.<UTC time, compact>.rejects`. */
export function rejectsPath(dir: string, file: string, now = new Date()): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return join(dir, `${basename(file)}.${time}.rejects`);
}

/** Writes the physical lines numbered in `lines` (1-based) of `file`, byte for byte. */
async function copyLines(file: string, gzip: boolean, lines: Set<number>, out: string): Promise<void> {
  const chunks: Buffer[] = [];
  const input = createReadStream(file);
  const stream = gzip ? input.pipe(createGunzip()) : input;
  // latin1 maps every byte to one char and back, so invalid UTF-8 survives verbatim.
  const rl = createInterface({ input: stream.setEncoding('latin1'), crlfDelay: Infinity });
  let n = 0;
  const last = Math.max(...lines);
  try {
    for await (const line of rl) {
      n++;
      if (lines.has(n)) chunks.push(Buffer.from(line + '\n', 'latin1'));
      if (n >= last) break;
    }
  } catch {
    // A damaged gzip stream ends here: its lines before the damage are written; the damage is
    // the last rejected record, and its bytes cannot be read.
  }
  rl.close();
  input.destroy();
  writeFileSync(out, Buffer.concat(chunks));
}
