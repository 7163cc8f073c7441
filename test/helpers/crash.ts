/** Helpers of the crash tests (test/e2e/crash-*.test.ts). */

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
