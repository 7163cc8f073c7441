/**
 * The capture path of `sextant serve` put together: the log (capture/log.ts) that acknowledges,
 * the loader (capture/loader.ts) that stores, and the checks a request's events pass before they
 * are appended (the rules of the events importer, ingest/posthog/rules.ts `checkEvent`).
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { importEvents } from '../../ingest/posthog/import-events.js';
import { withImportStore } from '../../store/staging.js';
import {
  checkEvent,
  commonTimestampMicros,
  EVENT_RULES,
  faultReason,
  latestEventTime,
  type TimestampReading,
} from '../../ingest/posthog/rules.js';
import type { Engine } from '../../store/engine.js';
import { removeScratch, scratchDir } from '../../store/scratch.js';
import type { TimestampReader } from '../../store/duckdb/timestamp-reader.js';
import type { StoreQueue } from '../store-queue.js';
import { CaptureLoader } from './loader.js';
import { CaptureLog } from './log.js';
import type { CapturedEvent } from './payload.js';

/** Default cap of the unloaded log (`server.captureLog.maxBytes`). */
export const DEFAULT_MAX_LOG_BYTES = 512 * 1024 * 1024;

export interface CaptureServiceOptions {
  engine: Engine;
  queue: StoreQueue;
  config: Config;
  /** Where the segments live (default: `captureLogDir`). */
  dir?: string;
  rejectsDir?: string;
  report?: (line: string) => void;
  segmentBytes?: number;
  delayMs?: number;
}

/**
 * Where a store's capture log lives unless configured: `<db>.capture-log/` beside a DuckDB file
 * or a `chdb:<dir>` folder (the same disk), `.sextant/capture-log/` for a `clickhouse://` store, a
 * new temporary folder for `:memory:` (nothing there outlives the process anyway).
 */
export function captureLogDir(target: string, config: Config): string {
  if (config.server.captureLog.dir) return config.server.captureLog.dir;
  if (target === ':memory:') return mkdtempSync(join(tmpdir(), 'sextant-capture-log-'));
  if (/^[a-z]+:\/\//.test(target)) return join('.sextant', 'capture-log');
  // `chdb:<dir>`: beside the folder (not a folder named `chdb:` in the working directory).
  if (target.startsWith('chdb:')) return `${target.slice('chdb:'.length)}.capture-log`;
  return `${target}.capture-log`;
}

export interface Rejected {
  /** 0-based index of the event in its request. */
  index: number;
  field?: string;
  reason: string;
}

/** A request's events checked (`CaptureService.check`). */
export interface Checked {
  /** The good events as JSON Lines (each line ends with `\n`), as the log stores them. */
  lines: string;
  /** How many events the request held. */
  count: number;
  rejected: Rejected[];
  /** The bad events' JSON Lines for the rejects file ('' when none). */
  rejectsText: string;
  /** The time they were checked at (the rejects file is named by it). */
  now: Date;
}

function checkAll(
  events: CapturedEvent[],
  micros: (number | undefined)[],
  readings: Map<string, TimestampReading> | undefined,
  now: Date,
): Checked {
  const latestUs = latestEventTime(now).getTime() * 1000;
  let at = 0;
  const read = (text: string): TimestampReading => {
    // checkEvent reads the timestamp of the event it checks (events[at]), read above.
    const us = text === events[at]!.timestamp ? micros[at] : commonTimestampMicros(text);
    return us !== undefined ? { us } : (readings?.get(text) ?? { us: null, notDate: false });
  };
  const rejected: Rejected[] = [];
  let lines = '';
  let rejectsText = '';
  for (; at < events.length; at++) {
    const e = events[at]!;
    const fault = checkEvent(e, latestUs, read);
    if (!fault) {
      lines += JSON.stringify(e) + '\n';
      continue;
    }
    const { field } = EVENT_RULES[fault.key];
    const reason = faultReason(fault);
    rejected.push(field === null ? { index: at, reason } : { index: at, field, reason });
    rejectsText += JSON.stringify(e) + '\n';
  }
  return { lines, count: events.length, rejected, rejectsText, now };
}

export class CaptureService {
  readonly log: CaptureLog;
  readonly loader: CaptureLoader;
  readonly maxBytes: number;
  readonly #spool: string;
  readonly #rejectsDir: string | undefined;
  #reader: TimestampReader | undefined;

  private constructor(
    log: CaptureLog,
    loader: CaptureLoader,
    maxBytes: number,
    spool: string,
    rejectsDir?: string,
  ) {
    this.log = log;
    this.loader = loader;
    this.maxBytes = maxBytes;
    this.#spool = spool;
    this.#rejectsDir = rejectsDir;
  }

  /** Opens the log (what a killed server left is loaded first) and starts the loader. */
  static async start(o: CaptureServiceOptions): Promise<CaptureService> {
    const log = await CaptureLog.open(o.dir ?? captureLogDir(o.engine.target, o.config), {
      segmentBytes: o.segmentBytes,
    });
    const spool = scratchDir(o.engine.target);
    const report = o.report ?? ((line: string) => process.stderr.write(line + '\n'));
    const loader = new CaptureLoader({
      log,
      spoolDir: spool,
      report,
      delayMs: o.delayMs,
      // On an engine without importers of its own (ClickHouse) the import runs on a DuckDB stage
      // of the store, written back after (store/staging.ts), as `sextant import events` does.
      load: (file, source) =>
        o.queue.run(() =>
          withImportStore(o.engine, (e) => importEvents(e, file, { source, rejectsDir: o.rejectsDir })),
        ),
    });
    loader.start();
    return new CaptureService(log, loader, o.config.server.captureLog.maxBytes, spool, o.rejectsDir);
  }

  /** Whether the log holds more than its cap: new captures are answered 503 until it is loaded. */
  full(): boolean {
    return this.log.unloadedBytes() > this.maxBytes;
  }

  /**
   * Checks `events` by the importer's rules: the good ones as the log's JSON Lines, the bad ones
   * with their reasons (and their text for the rejects file). Synchronous unless a timestamp is
   * of a shape only DuckDB reads. Nothing of the request's parsed JSON is referenced by what it
   * returns, so none of it survives the wait for the fdatasync (`record`): kept alive across that
   * wait, a batch's objects were promoted by the young-generation GC, and the old generation's
   * collections then cost a few µs per event on V8's helper threads.
   */
  check(events: CapturedEvent[], now: Date): Checked | Promise<Checked> {
    // Each timestamp read once (common ISO 8601 in JS); the others by the DuckDB reader, together.
    const micros = events.map((e) =>
      typeof e.timestamp === 'string' ? commonTimestampMicros(e.timestamp) : undefined,
    );
    const unusual = events.flatMap((e, i) =>
      typeof e.timestamp === 'string' && micros[i] === undefined ? [e.timestamp] : [],
    );
    if (unusual.length === 0) return checkAll(events, micros, undefined, now);
    return this.#readTimestamps(unusual).then((readings) => checkAll(events, micros, readings, now));
  }

  async #readTimestamps(texts: string[]): Promise<Map<string, TimestampReading>> {
    if (!this.#reader) {
      const { TimestampReader } = await import('../../store/duckdb/timestamp-reader.js');
      this.#reader ??= new TimestampReader();
    }
    return this.#reader.read(texts);
  }

  /**
   * Writes a checked request's bad events to the rejects file and appends its good ones to the
   * log; resolves once they are durable. Not async, so that only the record's bytes (not
   * `checked`) wait for the fdatasync.
   */
  record(checked: Checked, source: string): Promise<void> {
    const { lines } = checked;
    const append = (): Promise<void> =>
      lines.length > 0 ? this.log.append(source, lines) : Promise.resolve();
    if (checked.rejectsText && this.#rejectsDir) {
      return this.#writeRejects(checked.rejectsText, source, checked.now).then(append);
    }
    return append();
  }

  /** The bad events of a request, verbatim, in `<rejectsDir>/capture-<path>.<time>.rejects`. */
  async #writeRejects(text: string, source: string, now: Date): Promise<void> {
    const dir = this.#rejectsDir!;
    await mkdir(dir, { recursive: true });
    const time = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const name = `${source.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '')}.${time}.rejects`;
    await writeFile(join(dir, name), text, { flag: 'a' });
  }

  /** Resolves once everything acknowledged before the call is in the store. */
  settle(): Promise<void> {
    return this.loader.settle();
  }

  /**
   * Stops: with `drain`, loads what the log holds first (SIGTERM; a segment that fails to load is
   * left for the next start); without, leaves it for the next start. The log's files stay where they are either way until loaded.
   */
  async close(opts: { drain?: boolean } = {}): Promise<void> {
    if (opts.drain) await this.loader.settle({ untilFailure: true });
    await this.loader.stop();
    await this.log.close();
    await this.#reader?.close();
    removeScratch(this.#spool);
  }
}
