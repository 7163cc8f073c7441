/** Helpers of the crash tests (test/e2e/crash-*.test.ts). */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSextant } from './cli.js';

/**
 * How many kills each case of the crash tests makes: `SEXTANT_CRASH_KILLS` for a thorough run
 * (e.g. 40), else `quick`, which keeps `npm test` within its time.
 */
export function killsPerCase(quick: number): number {
  return Number(process.env.SEXTANT_CRASH_KILLS) || quick;
}

/**
 * `k` fault points of `trace`: first the ones that matter most — the last migration's commit and
 * the checkpoint after it (the WAL DuckDB could not replay), the first and the last commit of the
 * import, a chunk file being written — then as many more as needed, spread evenly over the run.
 */
export function choosePoints(trace: string[], k: number): number[] {
  const points = new Set<number>();
  const at = (re: RegExp): number[] => trace.flatMap((l, i) => (re.test(l) ? [i + 1] : []));
  for (const p of at(/^commit migration/).slice(-1)) points.add(p);
  for (const re of [/^checkpoint after migrations/, /^chunk file/]) {
    const p = at(re)[1] ?? at(re)[0];
    if (p) points.add(p);
  }
  const commits = at(/^COMMIT/);
  if (commits.length) points.add(commits[0]!).add(commits[commits.length - 1]!);
  for (let grid = k - points.size; points.size < Math.min(k, trace.length); grid++) {
    for (let i = 0; i < grid && points.size < k; i++)
      points.add(1 + Math.floor(((i + 0.5) * trace.length) / grid));
  }
  return [...points].sort((a, b) => a - b);
}

/** Runs `work` over `items`, `width` at a time. */
export async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/**
 * Kills a real `sextant` run at each of `points` (its `SEXTANT_FAULT_AT`), two at a time, each on
 * its own store (`prepare` makes it: a copy of an existing one, or nothing for a new store), and
 * returns what `check` finds wrong after each kill, or that a run was not killed, each line
 * naming the fault point and its place in `trace`.
 */
export async function killAtEachPoint(o: {
  trace: string[];
  points: number[];
  db: (point: number) => string;
  prepare?: (db: string) => void;
  args: (db: string) => string[];
  env?: Record<string, string>;
  check: (db: string) => Promise<string[]>;
}): Promise<string[]> {
  const failures: string[] = [];
  await pool(o.points, 2, async (n) => {
    const db = o.db(n);
    o.prepare?.(db);
    const where = `kill at fault point ${n} (${o.trace[n - 1]})`;
    const run = await runSextant(o.args(db), { ...o.env, SEXTANT_FAULT_AT: String(n) });
    if (run.signal !== 'SIGKILL') {
      failures.push(`${where}: the run was not killed (exit ${run.code}: ${run.stderr})`);
      return;
    }
    try {
      failures.push(...(await o.check(db)).map((p) => `${where}: ${p}`));
    } catch (e) {
      failures.push(`${where}: ${(e as Error).message}`);
    }
  });
  return failures;
}

/**
 * The references a crash test compares with: a clean traced run into a new store and into a copy
 * of `baseDb`, side by side, each read back by `read` with its trace of fault points.
 */
export async function referenceRuns<T>(
  dir: string,
  baseDb: string,
  traced: (db: string) => Promise<string[]>,
  read: (db: string) => Promise<T>,
): Promise<Record<'new' | 'existing', T & { trace: string[] }>> {
  const refNew = join(dir, 'ref-new.duckdb');
  const refExisting = join(dir, 'ref-existing.duckdb');
  copyFileSync(baseDb, refExisting);
  const [traceNew, traceExisting] = await Promise.all([traced(refNew), traced(refExisting)]);
  return {
    new: { ...(await read(refNew)), trace: traceNew },
    existing: { ...(await read(refExisting)), trace: traceExisting },
  };
}
