/**
 * Import benchmark (issue 3): `sextant import events` of the demo company's `events.jsonl.gz` at 1M
 * events (and 10M with `opts.full`), into a fresh DuckDB file each run, through the built CLI in a
 * child process so its peak RSS (`VmHWM`, via /usr/bin/time or /proc polling) is the import's own.
 * In the same run, alternating with the import, two floors, each DuckDB alone in a child process
 * writing a fresh file:
 * - the floor the target names: `CREATE TABLE t AS SELECT * FROM read_json(file)`, DuckDB's own
 *   type detection (properties become a STRUCT of the keys its sample saw);
 * - a lean floor: the columns Sextant stores, given (`uuid`, `event`, `distinct_id` as text,
 *   `timestamp` as TIMESTAMPTZ, `properties` as JSON), so nothing is detected or unnested. It is
 *   the cheaper of the two, and the stricter comparison; its ratio is printed beside the other.
 * Detection reads a sample (the first 20,480 lines): a file whose later lines carry property keys
 * the sample did not see fails it ("has unknown key"). The bench then says so and holds the
 * import to the lean floor. Targets: ≥ 250,000 events/s on 2 cores, and issue #19's peak RSS
 * < 1.5 GB and ratio to the floor ≤ 1.43. The data is the benchmarks' shared demo company
 * (demo-data.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDemo } from './demo-data.js';
import { median } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';

/** Runs at 1M unless `--runs N` (at 10M: 1 unless `--runs N`). */
const RUNS = 3;
const TARGET_EVENTS_PER_SECOND = 250_000;
/** Issue #19: peak RSS under 1.5 GB, and at least 0.7× the speed of the engine alone (ratio ≤ 1.43). */
const TARGET_RSS_MB = 1536;
const TARGET_RATIO = 1.43;

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

/** DuckDB alone reading the file into a plain table: the floors the importer is held against. */
const FLOOR_SCRIPT = `
import { DuckDBInstance } from '@duckdb/node-api';
const [db, file, select] = process.argv.slice(1);
const instance = await DuckDBInstance.create(db);
const c = await instance.connect();
await c.run("CREATE TABLE t AS " + select, [file]);
c.closeSync(); instance.closeSync();
`;
const FLOORS = {
  detected: 'SELECT * FROM read_json($1)',
  lean: `SELECT * FROM read_json($1, format = 'newline_delimited', columns = {uuid: 'VARCHAR', event: 'VARCHAR', distinct_id: 'VARCHAR', "timestamp": 'TIMESTAMPTZ', properties: 'JSON'})`,
} as const;

export interface Measured {
  seconds: number;
  peakRssMb: number;
  /** What the command printed on stdout. */
  stdout: string;
}

/** Runs a command to completion; wall seconds and its peak resident set. Throws on a non-zero exit. */
export async function measure(cmd: string, args: string[], cwd: string): Promise<Measured> {
  const useTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const child = useTime
    ? spawn('/usr/bin/time', ['-f', '__PEAK_KB=%M', cmd, ...args], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  let polledKb = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) polledKb = Math.max(polledKb, Number(m[1]));
        } catch {
          // the process is gone
        }
      }, 50);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (poll) clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const kb = useTime ? Number(/__PEAK_KB=(\d+)/.exec(stderr)?.[1] ?? 0) : polledKb;
  return { seconds, peakRssMb: kb / 1024, stdout };
}

function part(target: string, met: boolean): string {
  return `${target} (${met ? 'met' : 'not met'})`;
}

function freshDb(path: string): string {
  for (const suffix of ['', '.wal', '.tmp']) rmSync(path + suffix, { recursive: true, force: true });
  return path;
}

async function benchSize(opts: BenchOptions, events: number, runs: number): Promise<BenchResult[]> {
  const label = events >= 1_000_000 ? `${events / 1_000_000}M` : String(events);
  const eventsFile = (await benchDemo(opts.dir, events, opts.log)).events;
  const db = join(opts.dir, `import-${label}.duckdb`);
  const cwd = process.cwd();
  const floor = (select: string): Promise<Measured> =>
    measure(
      process.execPath,
      ['--input-type=module', '-e', FLOOR_SCRIPT, freshDb(db), eventsFile, select],
      cwd,
    );
  const imports: Measured[] = [];
  const detected: Measured[] = [];
  const lean: Measured[] = [];
  let detectionFailed: string | undefined;
  let stored = 0;
  for (let i = 0; i < runs; i++) {
    // Alternate the three so all see the same (noisy) machine.
    if (!detectionFailed) {
      try {
        detected.push(await floor(FLOORS.detected));
      } catch (e) {
        // Only a detection failure is the file's doing; anything else stops the bench.
        if (!/JSON transform error/.test((e as Error).message)) throw e;
        detectionFailed = /(JSON transform error[^\n]*)/.exec((e as Error).message)?.[1] ?? 'failed';
        opts.log(
          `   ${label}: read_json's type detection fails on this file: ${detectionFailed.slice(0, 300)}`,
        );
        opts.log(`   ${label}: holding the import to the lean floor instead`);
      }
    }
    lean.push(await floor(FLOORS.lean));
    const m = await measure(
      process.execPath,
      [CLI, '--db', freshDb(db), '--json', 'import', 'events', eventsFile],
      cwd,
    );
    imports.push(m);
    const d = detected[i];
    opts.log(
      `   ${label} run ${i + 1}: import ${m.seconds.toFixed(1)}s (${m.peakRssMb.toFixed(0)} MB), floor ${d ? d.seconds.toFixed(1) + 's' : '—'}, lean floor ${lean.at(-1)!.seconds.toFixed(1)}s`,
    );
  }
  {
    const { DuckDbEngine } = await import('../store/duckdb/engine.js');
    const { raw } = await import('../store/sql.js');
    const e = await DuckDbEngine.open(db);
    stored = Number((await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM events')))[0]?.n ?? 0);
    await e.close();
    freshDb(db);
  }
  const seconds = (ms: Measured[]): number => median(ms.map((m) => m.seconds));
  const importSeconds = seconds(imports);
  const leanSeconds = seconds(lean);
  const floorSeconds = detectionFailed ? leanSeconds : seconds(detected);
  const eventsPerSecond = stored / importSeconds;
  const peakRssMb = Math.max(...imports.map((m) => m.peakRssMb));
  const ratioToFloor = importSeconds / floorSeconds;
  // Each run against the floor taken just before it: how far the ratio moves from run to run.
  const runRatios = imports.map((m, i) => m.seconds / (detectionFailed ? lean[i]! : detected[i]!).seconds);
  const floorResult = (name: string, ms: Measured[]): BenchResult => {
    const s = seconds(ms);
    return {
      name,
      medianSeconds: s,
      runs: ms.length,
      figures: {
        eventsPerSecond: Math.round(stored / s),
        peakRssMb: Math.round(Math.max(...ms.map((m) => m.peakRssMb))),
      },
    };
  };
  return [
    {
      name: `import events ${label} (jsonl.gz, CLI, fresh store)`,
      medianSeconds: importSeconds,
      runs,
      figures: {
        events: stored,
        eventsPerSecond: Math.round(eventsPerSecond),
        peakRssMb: Math.round(peakRssMb),
        ratioToFloor: Number(ratioToFloor.toFixed(2)),
        runRatioLowest: Number(Math.min(...runRatios).toFixed(2)),
        runRatioHighest: Number(Math.max(...runRatios).toFixed(2)),
        ratioToLeanFloor: Number((importSeconds / leanSeconds).toFixed(2)),
      },
      // Each part's own verdict too: throughput moves with the machine, the ratio much less.
      target: [
        part(
          `≥ ${TARGET_EVENTS_PER_SECOND.toLocaleString('en')} events/s`,
          eventsPerSecond >= TARGET_EVENTS_PER_SECOND,
        ),
        part(`peak RSS < ${TARGET_RSS_MB} MB`, peakRssMb < TARGET_RSS_MB),
        part(
          `≤ ${TARGET_RATIO}× the ${detectionFailed ? 'lean floor (read_json detection failed)' : 'floor'}`,
          ratioToFloor <= TARGET_RATIO,
        ),
      ].join(', '),
      met:
        eventsPerSecond >= TARGET_EVENTS_PER_SECOND &&
        peakRssMb < TARGET_RSS_MB &&
        ratioToFloor <= TARGET_RATIO,
    },
    ...(detectionFailed ? [] : [floorResult(`floor: read_json ${label}, detected types`, detected)]),
    floorResult(`lean floor: read_json ${label}, Sextant's columns`, lean),
  ];
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  if (!existsSync(CLI))
    throw new Error(`the import bench runs the built CLI; run \`npm run build\` first (${CLI})`);
  const results = await benchSize(opts, 1_000_000, opts.runs ?? RUNS);
  // 10M once unless `--runs N` asks for more: each run is the import and both floors, ~1.5 min.
  if (opts.full) results.push(...(await benchSize(opts, 10_000_000, opts.runs ?? 1)));
  return results;
}
