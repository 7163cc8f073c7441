/**
 * Loading one PostHog-format event file (SPEC §3.1), written once for every engine: which path
 * a file takes, its chunks, gzip damage, the import ledger and its duplicate rules, and the
 * order of commits that makes an import safe to kill at any instant. What an engine does (read
 * and type a file, classify records, store a batch, identity) is behind `EventImportSteps`
 * (store/event-import.ts), which store/registry.ts finds for the engine (`eventImportSteps`). The rules and the loading plan are
 * in docs/ingest.md.
 *
 * - Fast path (clean JSON Lines, `loadJsonLinesFast`): the file whole, or in chunks of whole
 *   lines (event-chunks.ts); each chunk read by the engine's typed reader and classified, then
 *   stored in its own transaction (`storeBatch`: identity, dedupe against earlier imports,
 *   INSERT, the ledger row). At the end `dedupeImport` (a uuid two chunks stored) and
 *   `finishImport` (identity overrides, persons, groups, the ledger row finished).
 * - Line path (any bad record, JSON arrays, CSV, Parquet): one pass classifies every record with
 *   its fault (field, reason) or its normalized columns, so a bad line never stops the scan. The
 *   good records are stored as one batch, then the same end steps.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import type { Engine } from '../../store/engine.js';
import type { EventImportSteps, EventSource, ImportTime } from '../../store/event-import.js';
import { eventImportSteps } from '../../store/registry.js';
import { removeScratch, scratchDir } from '../../store/scratch.js';
import { join as joinSql, sql } from '../../store/sql.js';
import { stageStoredEvents } from '../../store/staging.js';
import { inTransaction } from '../../store/transaction.js';
import { recordImport } from '../ledger.js';
import type { RejectedRecord } from '../report.js';
import { salvageJsonArray } from './array-salvage.js';
import { DEFAULT_CHUNK_BYTES, gzipDamage, lineChunks, oneChunk, uncompressedSize } from './event-chunks.js';
import type { EventFileFormat } from './format.js';
import { reasonText } from './rules.js';

/** The rules by which a good record is a duplicate (`ImportReport.duplicateRules` keys). */
export const DUPLICATE_RULES = {
  /** Its uuid was stored by an earlier import. */
  uuidStored: 'uuid, already stored',
  /** Another record of the file with its uuid was stored (the earliest timestamp wins). */
  uuidRepeated: 'uuid, repeated in the file',
  /** Without a uuid: its content and occurrence were stored by an earlier import. */
  contentStored: 'content+occurrence, already stored',
  /** Without a uuid: its derived key equals another record's of the file (only a uuid can). */
  contentRepeated: 'content+occurrence, repeated in the file',
} as const;

export interface LoadedEventFile {
  records: number;
  inserted: number;
  duplicates: number;
  duplicateRules: Record<string, number>;
  rejected: RejectedRecord[];
  /** The text of bad records when the format has no physical lines (JSON array, Parquet). */
  rejectedText?: { line: number; raw: string | null }[];
}

export interface LoadOptions {
  /** Chunk size of the JSON Lines fast path, in uncompressed bytes (tests use tiny ones). */
  chunkBytes?: number;
  /** The latest event time accepted (the import's time plus the clock-skew allowance). */
  latest: Date;
  /** Where the caller writes the rejects, named in the ledger when anything is rejected. */
  rejectsFile?: string;
}

/**
 * An import's ledger (docs/ingest.md, "The import ledger"): records = inserted + duplicates (by
 * rule) + rejected at every commit. Events that two chunks both stored count as inserted until
 * the end of the import removes one (then as `uuid, repeated in the file`).
 */
interface Ledger {
  records: number;
  inserted: number;
  rejected: RejectedRecord[];
  rules: Record<string, number>;
}

function addRule(rules: Record<string, number>, rule: string, n: number): void {
  if (n) rules[rule] = (rules[rule] ?? 0) + n;
}

function ledgerDuplicates(l: Ledger): number {
  return Object.values(l.rules).reduce((a, b) => a + b, 0);
}

/** A running import: its timestamp, its source, whether its `imports` row is written, its ledger. */
interface ImportRun {
  at: ImportTime;
  source: string;
  logged: boolean;
  ledger: Ledger;
  /** Where the import's rejects file is written (named in its row when anything was rejected). */
  rejectsFile?: string;
}

/** An engine's import steps, or an error saying how to import into it. */
export async function importSteps(engine: Engine, what: string): Promise<EventImportSteps> {
  const steps = await eventImportSteps(engine);
  if (!steps) {
    throw new Error(
      `${what} needs a store that loads events itself; ${engine.target} (${engine.name}) is imported into through a stage (store/staging.ts withImportStore)`,
    );
  }
  return steps;
}

/**
 * Starts an import. Its timestamp is after every earlier import's, so "stored before this
 * import" is `imported_at < at`. Its `imports` row (without `finished_at` until `finishImport`)
 * is written with the first events it stores, in their transaction (`logImport`).
 */
async function beginImport(
  steps: EventImportSteps,
  source: string,
  rejectsFile?: string,
): Promise<ImportRun> {
  return {
    at: await steps.importTime(),
    source,
    logged: false,
    ledger: { records: 0, inserted: 0, rejected: [], rules: {} },
    rejectsFile,
  };
}

/**
 * Inside a transaction: the import's `imports` row with its ledger as it stands (`recordImport`,
 * which refuses counts that do not add up), inserted with the first events it stores and
 * updated with each later batch, so that a kill between two commits leaves a row whose counts
 * add up for what was committed. `finished_at` is set by `finishImport`.
 */
async function logImport(engine: Engine, run: ImportRun): Promise<void> {
  const l = run.ledger;
  await recordImport(
    engine,
    {
      file: run.source,
      kind: 'events',
      records: l.records,
      inserted: l.inserted,
      updated: 0,
      duplicates: ledgerDuplicates(l),
      duplicateRules: { ...l.rules },
      rejected: l.rejected,
      rejectsFile: l.rejected.length > 0 ? run.rejectsFile : undefined,
    },
    { importedAt: run.at, source: run.source, finished: false },
  );
}

/**
 * Ends an import, in one transaction: the distinct_ids whose person the import changed get their
 * new person in `person_overrides` (events are never rewritten), once for all chunks; persons
 * and groups are refreshed for the events it stored; its counts are logged. An earlier events
 * import interrupted before this step is finished too: its uuids stored twice are removed, every
 * event's person now (store/events.ts) is checked against the map (its changed ids are lost),
 * its ledger row counts what it kept, and its events are in the refresh. Without `run`, only
 * the interrupted imports are finished.
 */
async function finishImport(engine: Engine, steps: EventImportSteps, run?: ImportRun): Promise<void> {
  const unfinished = await steps.unfinishedImports();
  const byText = new Map<string, ImportTime>();
  for (const t of [...unfinished, ...(run ? [run.at] : [])]) byText.set(t.toString(), t);
  const all = [...byText.values()];
  const others = unfinished.filter((t) => t.toString() !== run?.at.toString());
  await steps.finishing();
  await inTransaction(engine, async () => {
    // Interrupted before its end-of-import dedupe: its uuids stored twice are found among its events.
    if (others.length) await steps.removeInterruptedDoubles(others);
    // Its changed ids are lost: every event is checked against the map, before any override is
    // written (the person an event is on now is the one it leaves).
    await steps.gatherChanged(others.length > 0);
    // Events are not moved: their distinct_ids' new persons are recorded as overrides.
    await steps.upsertOverrides();
    // Its ledger: the events it stored twice and that were removed above move from inserted to
    // duplicates (rows from before the ledger columns only count what they stored).
    if (others.length) await steps.repairInterruptedLedgers(others, DUPLICATE_RULES.uuidRepeated);
    await steps.refreshPersonsAndGroups(all);
    if (run) await logImport(engine, run);
    await engine.exec(
      sql`UPDATE imports SET finished_at = now() WHERE kind = 'events' AND finished_at IS NULL AND imported_at IN (${joinSql(all)})`,
    );
  });
}

/**
 * Finishes the events imports that were interrupted (`imports.finished_at` NULL) as the next
 * import would: what a review reads is then the store complete imports leave. Returns how many
 * were finished.
 */
export async function finishInterrupted(engine: Engine, steps: EventImportSteps): Promise<number> {
  const n = (await steps.unfinishedImports()).length;
  if (!n) return 0;
  try {
    await steps.resetChanged();
    await finishImport(engine, steps);
  } finally {
    await steps.dropScratch();
  }
  return n;
}

/**
 * In one transaction: the batch the engine classified stored (`storeBatch`: identity from the
 * records it stores, its new events with `imported_at` = the import's time, its duplicates by
 * rule) and the import's ledger written. New: not stored by an earlier import; the same uuid
 * stored by an earlier chunk of this import is sorted out once, at the end (`dedupeImport`).
 *
 * `batch.whole`: the batch is the whole file (the line path). Its counts replace the ledger's,
 * and what the fast path stored before it is stored again and removed in this same transaction,
 * so that the commit leaves a ledger that adds up.
 */
async function storeBatch(
  engine: Engine,
  steps: EventImportSteps,
  run: ImportRun,
  batch: { records: number; rejected: RejectedRecord[]; whole: boolean },
): Promise<number> {
  // The stored events this batch's keys need, on a stage of a store that is not imported into
  // directly (store/staging.ts); nothing on any other.
  await stageStoredEvents(engine);
  const n = await inTransaction(engine, async () => {
    const stored = await steps.storeBatch(run.at, run.source);
    const rules: Record<string, number> = {};
    addRule(rules, DUPLICATE_RULES.uuidStored, stored.uuidStored);
    addRule(rules, DUPLICATE_RULES.contentStored, stored.contentStored);
    addRule(rules, DUPLICATE_RULES.uuidRepeated, stored.uuidRepeated);
    addRule(rules, DUPLICATE_RULES.contentRepeated, stored.contentRepeated);
    const l = run.ledger;
    if (batch.whole) {
      const removed = l.inserted > 0 ? await steps.removeImportsDoubles(run.at) : 0;
      run.ledger = {
        records: batch.records,
        rejected: batch.rejected,
        inserted: l.inserted + stored.inserted - removed,
        rules,
      };
    } else {
      l.records += batch.records;
      l.rejected.push(...batch.rejected);
      l.inserted += stored.inserted;
      for (const [k, v] of Object.entries(rules)) addRule(l.rules, k, v);
    }
    await logImport(engine, run);
    return stored.inserted;
  });
  run.logged = true;
  return n;
}

/**
 * A uuid this import stored more than once (in two chunks, or by the fast path and again by the
 * line path) keeps the event with the earliest timestamp, then the one stored first (= the
 * earlier line). Found once, after all chunks (a check per chunk against everything stored
 * before grew with the file). The events removed move from inserted to `uuid, repeated in the
 * file` in the ledger, written in the same transaction. Returns the number of events removed.
 */
async function dedupeImport(engine: Engine, steps: EventImportSteps, run: ImportRun): Promise<number> {
  return inTransaction(engine, async () => {
    const removed = await steps.removeImportsDoubles(run.at);
    run.ledger.inserted -= removed;
    addRule(run.ledger.rules, DUPLICATE_RULES.uuidRepeated, removed);
    if (removed) await logImport(engine, run);
    return removed;
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/**
 * The fast path for JSON Lines: the file in chunks of `chunkBytes`, each read by the engine's
 * typed reader, classified (a chunk's worth, whatever the file's size) and stored in its own
 * transaction (`storeBatch`). Stops at the first chunk that cannot be read or holds any bad
 * record: `complete` is false and the line path reads the whole file again (what the chunks
 * before stored counts as this import's, so nothing is stored twice).
 */
async function loadJsonLinesFast(
  engine: Engine,
  steps: EventImportSteps,
  file: string,
  gzip: boolean,
  run: ImportRun,
  progress: (msg: string) => void,
  chunkBytes: number,
  secs: () => string,
  latest: Date,
): Promise<{ records: number; inserted: number; chunks: number; complete: boolean }> {
  // Beside the store, where the next import removes what a killed one left (store/scratch.ts).
  const dir = scratchDir(engine.target);
  // A file no larger than a chunk is read as it is (gzip included) by the engine: no unzipping
  // in Node, no chunk file to wait for (1M demo events: 4.1–4.3 s chunked, 3.7–3.9 s whole).
  const whole = (await uncompressedSize(file, gzip)) <= chunkBytes;
  const chunks = whole ? oneChunk(file) : lineChunks(file, gzip, dir, chunkBytes, (k) => steps.chunkLines(k));
  let pending = chunks.next();
  pending.catch(() => undefined);
  let records = 0;
  let inserted = 0;
  let done = 0; // chunks stored
  try {
    for (let i = 0; ; i++) {
      let next: IteratorResult<string>;
      try {
        next = await pending;
      } catch (e) {
        // The file could not be read to its end (a damaged gzip stream): the line path keeps its
        // readable part and reports the damage.
        progress(`${file}: ${firstLine((e as Error).message)}`);
        return { records, inserted, chunks: i, complete: false };
      }
      if (next.done) break;
      pending = chunks.next();
      pending.catch(() => undefined);
      try {
        await steps.classify(await steps.source('jsonl-fast', next.value, whole && gzip), latest, false);
      } catch (e) {
        // A malformed or very long line: the line reader finds and reports it.
        progress(`${file}: ${firstLine((e as Error).message)}`);
        return { records, inserted, chunks: i, complete: false };
      }
      if (!whole) await rm(next.value, { force: true });
      // A record near the line-length limit goes to the line reader too, which measures the
      // line itself: chunks before it are stored.
      const c = await steps.batchCounts(true);
      if (c.bad) return { records, inserted, chunks: i, complete: false };
      records += c.records;
      if (c.derived) await steps.assignDerivedKeys();
      inserted += await storeBatch(engine, steps, run, { records: c.records, rejected: [], whole: false });
      progress(`${file}: chunk ${i + 1}: ${records} records read, ${inserted} new (${secs()})`);
      done = i + 1;
    }
    return { records, inserted, chunks: done, complete: true };
  } finally {
    await pending.catch(() => undefined);
    await chunks.return(undefined).catch(() => undefined);
    removeScratch(dir);
  }
}

/**
 * The whole import of one event file: read and classify, store in batches (each a transaction
 * with its ledger row), then identity overrides, persons and groups, the ledger row finished.
 */
export async function loadEventFile(
  engine: Engine,
  steps: EventImportSteps,
  file: string,
  kind: { format: EventFileFormat; gzip: boolean },
  sourceName: string,
  progress: (msg: string) => void = () => undefined,
  opts: LoadOptions,
): Promise<LoadedEventFile> {
  const t0 = performance.now();
  const secs = (): string => ((performance.now() - t0) / 1000).toFixed(1) + 's';
  const latest = opts.latest;
  await steps.begin();
  let finished = false;
  let run: ImportRun | undefined;
  let scratch: string | undefined;
  const result = (rejectedText?: LoadedEventFile['rejectedText']): LoadedEventFile => {
    const l = run!.ledger;
    return {
      records: l.records,
      inserted: l.inserted,
      duplicates: ledgerDuplicates(l),
      duplicateRules: { ...l.rules },
      rejected: l.rejected,
      rejectedText,
    };
  };
  try {
    await steps.createScratch();
    run = await beginImport(steps, sourceName, opts.rejectsFile);
    if (kind.format === 'jsonl') {
      const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
      // A gzip file read whole by the engine is checked for damage meanwhile (one that is cut
      // into chunks is unzipped by Node, which fails on damage; the line path checks its own).
      const check =
        kind.gzip && (await uncompressedSize(file, true)) <= chunkBytes ? gzipDamage(file) : undefined;
      check?.catch(() => undefined);
      const fast = await loadJsonLinesFast(
        engine,
        steps,
        file,
        kind.gzip,
        run,
        progress,
        chunkBytes,
        secs,
        latest,
      );
      const damaged = fast.complete ? await check : undefined;
      if (damaged) {
        // What the engine read is the readable part; the damage is one more rejected record.
        run.ledger.records++;
        run.ledger.rejected.push({ line: damaged.lines + 1, reason: reasonText('gzipCut', damaged.reason) });
      }
      if (fast.complete) {
        if (fast.chunks > 1) await dedupeImport(engine, steps, run);
        progress(
          `${file}: stored ${run.ledger.inserted} new events; refreshing persons and groups (${secs()})`,
        );
        await finishImport(engine, steps, run);
        finished = true;
        progress(`${file}: done (${secs()})`);
        return result();
      }
      progress(`${file}: bad records; reading line by line`);
    }
    const sourceOf = (path: string, gzip: boolean): Promise<EventSource> =>
      steps.source(kind.format, path, gzip);
    // A damaged gzip stream (truncated, corrupt): its readable part, up to its last complete
    // line, is read instead, and the damage is one rejected record (docs/ingest.md).
    let damage =
      kind.gzip && kind.format !== 'json-array' ? await gzipDamage(file, engine.target) : undefined;
    scratch = damage?.dir;
    if (damage) progress(`${file}: gzip data ${damage.reason}; reading its ${damage.lines} complete lines`);
    let source = await sourceOf(damage?.path ?? file, kind.gzip && !damage);
    // The rest of a JSON array cut short: one rejected record after its complete elements.
    let arrayTail: { line: number; reason: string; raw: string } | undefined;
    try {
      await steps.classify(source, latest);
    } catch (e) {
      if (e instanceof InputError)
        throw damage?.path ? new InputError(e.message.replaceAll(damage.path, file)) : e;
      const notReadable = new InputError(
        `not readable as ${kind.format}: ${firstLine((e as Error).message)}`,
        {
          file,
        },
      );
      // Not an array after all, or a broken one: keep what is good (array-salvage.ts).
      const salvage = kind.format === 'json-array' ? await salvageJsonArray(file, kind.gzip) : undefined;
      if (!salvage) throw notReadable;
      if (salvage.kind === 'lines') {
        progress(`${file}: not one JSON array; reading it as JSON Lines`);
        damage = kind.gzip ? await gzipDamage(file, engine.target) : undefined;
        scratch = damage?.dir;
        source = await steps.source('jsonl', damage?.path ?? file, kind.gzip && !damage);
      } else {
        progress(
          `${file}: the JSON array is cut short; reading its ${salvage.items.length} complete elements`,
        );
        scratch = scratchDir(engine.target);
        const whole = join(scratch, 'complete-elements.json');
        await writeFile(whole, `[${salvage.items.join(',\n')}]`);
        source = await steps.source('json-array', whole, false);
        arrayTail = { line: salvage.items.length + 1, ...salvage.tail, raw: salvage.tail.text };
      }
      try {
        await steps.classify(source, latest);
      } catch (again) {
        if (again instanceof InputError) throw again;
        throw notReadable;
      }
    }
    const counts = await steps.batchCounts(false);
    const bad = await steps.badRecords(source);
    progress(`${file}: read ${counts.records} records, ${bad.length} bad (${secs()})`);
    // The file again from its first record: occurrences are counted from the start.
    await steps.resetOccurrences();
    if (counts.derived) await steps.assignDerivedKeys();
    // What the fast path stored before it stopped is stored again and sorted out as this
    // import's own duplicates, in the same transaction.
    const rejected: RejectedRecord[] = bad.map(({ line, reason, field }) =>
      field === null ? { line, reason } : { line, reason, field },
    );
    if (damage) rejected.push({ line: damage.lines + 1, reason: reasonText('gzipCut', damage.reason) });
    if (arrayTail) rejected.push({ line: arrayTail.line, reason: arrayTail.reason });
    const records = counts.records + (damage ? 1 : 0) + (arrayTail ? 1 : 0);
    await storeBatch(engine, steps, run, { records, rejected, whole: true });
    progress(`${file}: stored ${run.ledger.inserted} new events; refreshing persons and groups (${secs()})`);
    await finishImport(engine, steps, run);
    finished = true;
    progress(`${file}: done (${secs()})`);
    return result(
      source.physicalLines
        ? undefined
        : [
            ...bad.map(({ line, raw }) => ({ line, raw })),
            ...(arrayTail ? [{ line: arrayTail.line, raw: arrayTail.raw }] : []),
          ],
    );
  } catch (e) {
    // Say what the failure left: the events committed before it stay.
    if (run?.logged && e instanceof Error) {
      const [kept] = await engine
        .query<{ n: number }>(sql`SELECT count(*) AS n FROM events WHERE imported_at = ${run.at}`)
        .catch(() => [undefined]);
      if (kept?.n) {
        e.message += ` (${kept.n} events stored before this are kept; the next events import or review finishes them)`;
      }
    }
    throw e;
  } finally {
    if (scratch) removeScratch(scratch);
    await steps.dropScratch();
    // An import that failed having stored nothing leaves no trace; one that stored events is
    // finished (dedupe, persons, groups) by the next events import.
    if (run?.logged && !finished) {
      await engine.exec(
        sql`DELETE FROM imports WHERE kind = 'events' AND imported_at = ${run.at} AND finished_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM events WHERE imported_at = ${run.at})`,
      );
    }
    await steps.end(run?.ledger.inserted ?? 0);
  }
}
