/**
 * `npm run bench -- capture`: the capture API of the real `sextant serve` (the built CLI, a child
 * process on loopback) driven by 64 concurrent clients in this process:
 * - batched: 64 real posthog-node clients, batches of 100 events;
 * - single: 64 raw HTTP clients (keep-alive), one event per request, `/e/` and `/i/v0/e/`;
 * - the floor: the single-event load again, sent to a bare Node HTTP server (parse, answer) in a
 *   process of its own: the single-event figures are also ratios to it, taken seconds apart;
 * - during a review: the single-event load again while the server builds the review of a demo
 *   company (`POST /api/reviews/all/<month>?cache=false`, one build from scratch after another).
 * A 200 means durable (SPEC §7). Each run ends with SIGTERM, which loads what the log holds before
 * the store is closed; the events stored are then counted against those acknowledged.
 *
 * `SEXTANT_BENCH_BIN=<path to bin/sextant.js>` measures another build (the figures before a change).
 * The machine is shared: quote medians, and compare runs made in one session.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { PostHog } from 'posthog-node';
import { importEvents } from '../ingest/posthog/import-events.js';
import { importStripe } from '../ingest/stripe/import.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { benchDemo } from './demo-data.js';
import { median } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';

const KEY = 'phc_bench_capture';
const ADMIN = 'bench-admin';
const CLIENTS = 64;
const DEMO_EVENTS = 100_000;

interface Phase {
  seconds: number;
  requests: number;
  events: number;
  failed: number;
  latenciesMs: number[];
  builds?: number;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** A store holding the demo company (events and billing), imported once and copied per run. */
async function templateStore(opts: BenchOptions): Promise<{ file: string; month: string; config: string }> {
  const files = await benchDemo(opts.dir, DEMO_EVENTS, opts.log);
  const file = join(opts.dir, `capture-template-${DEMO_EVENTS}.duckdb`);
  if (!existsSync(file)) {
    opts.log('   importing the demo company for the review phase…');
    const engine = await DuckDbEngine.open(file + '.tmp');
    await engine.migrate();
    await importEvents(engine, files.events);
    await importStripe(engine, files.stripe);
    await engine.close();
    copyFileSync(file + '.tmp', file);
    rmSync(file + '.tmp', { force: true });
  }
  return { file, month: files.month, config: files.config };
}

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  stderr: () => string;
}

async function startServer(bin: string, db: string, config: string): Promise<Server> {
  const child = spawn(process.execPath, [bin, '--db', db, '--config', config, 'serve', '--port', '0'], {
    env: { ...process.env, SEXTANT_PROJECT_KEY: KEY, SEXTANT_ADMIN_TOKEN: ADMIN },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const end = Date.now() + 180_000;
  while (!/project key: /.test(out)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`sextant serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  return { child, url, port: Number(new URL(url).port), stderr: () => err };
}

/**
 * The floor: a bare Node HTTP server in its own process that reads the body, parses it as JSON
 * and answers `{"status":1}` — no key, no checks, no log, no fsync. What any capture server in
 * Node can do on this machine at this moment; the single-event figures are also given as a ratio
 * to it, which the machine's load moves far less than the rates themselves.
 */
const FLOOR_SERVER = `
const { createServer } = require('node:http');
const s = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(parts).toString('utf8'));
    const b = '{"status":1}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.length });
    res.end(b);
  });
});
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;

export async function startFloor(): Promise<Server> {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER]);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  while (!/listening on/.test(out)) {
    if (child.exitCode !== null) throw new Error(`the floor server did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  return { child, url, port: Number(new URL(url).port), stderr: () => '' };
}

/** 64 posthog-node clients, each sending batches of 100 as fast as they are acknowledged. */
async function batched(server: Server, seconds: number, run: number): Promise<Phase> {
  const p: Phase = { seconds, requests: 0, events: 0, failed: 0, latenciesMs: [] };
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      // posthog-node sends each 100 captured as one batch (flushAt, maxBatchSize).
      const inFlight = 100;
      const client = new PostHog(KEY, {
        host: server.url,
        flushAt: 100,
        maxBatchSize: 100,
        flushInterval: 0,
        fetchRetryCount: 0,
        fetch: async (u, options) => {
          const t0 = performance.now();
          const res = await fetch(u, options);
          if (u.includes('/batch')) {
            p.latenciesMs.push(performance.now() - t0);
            p.requests++;
            if (res.status === 200) p.events += inFlight;
            else p.failed++;
          }
          return res;
        },
      });
      client.on('error', () => undefined);
      for (let b = 0; performance.now() < until; b++) {
        for (let i = 0; i < 100; i++) {
          client.capture({
            distinctId: `user-${c}-${i % 17}`,
            event: i % 5 ? 'report viewed' : 'report exported',
            properties: {
              run,
              phase: 'batched',
              plan: i % 3 ? 'free' : 'pro',
              $groups: { organization: `org-${c}` },
            },
          });
        }
        await client.flush().catch(() => undefined);
      }
      await client.shutdown(1000).catch(() => undefined);
    }),
  );
  // Until the last batch in flight was answered: the rate over the time it really took.
  p.seconds = (performance.now() - t0) / 1000;
  return p;
}

/** 64 raw HTTP clients, each posting single events one after another until `until()` is false. */
async function single(server: Server, more: () => boolean, run: number, phase: string): Promise<Phase> {
  const p: Phase = { seconds: 0, requests: 0, events: 0, failed: 0, latenciesMs: [] };
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const t0 = performance.now();
  const post = (path: string, body: string): Promise<number> =>
    new Promise((done, fail) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; more(); i++) {
        const body = JSON.stringify({
          api_key: KEY,
          event: '$pageview',
          distinct_id: `visitor-${c}-${i % 29}`,
          uuid: `0190${String(run).padStart(4, '0')}-${phase === 'single' ? '0000' : '1111'}-7000-8000-${String(c).padStart(4, '0')}${String(i).padStart(8, '0')}`,
          properties: { run, phase, $current_url: `https://example.test/p/${i % 13}` },
        });
        const s = performance.now();
        const status = await post(c % 2 ? '/e/' : '/i/v0/e/', body).catch(() => 0);
        p.latenciesMs.push(performance.now() - s);
        p.requests++;
        if (status === 200) p.events++;
        else p.failed++;
      }
    }),
  );
  p.seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return p;
}

/** The single-event load while the server builds the review again and again. */
async function duringReview(server: Server, seconds: number, month: string, run: number): Promise<Phase> {
  let building = true;
  let builds = 0;
  const until = performance.now() + seconds * 1000;
  const builder = (async () => {
    // The first build starts before the load; the load stops when the build running at the end is done.
    while (performance.now() < until) {
      // From scratch: a cached build (the ledger unchanged since the loader's last load) costs the
      // server next to nothing, and would leave the acknowledgements measured beside no build.
      const res = await fetch(`${server.url}/api/reviews/all/${month}?cache=false`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}` },
      }).catch((e: Error) => {
        // A build still waiting for an answer after undici's timeouts (the server before the log:
        // its review build queued behind every capture transaction).
        throw new Error(`review build got no answer: ${e.message}`);
      });
      if (res.status !== 201) throw new Error(`review build answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      builds++;
    }
    building = false;
  })();
  await new Promise((r) => setTimeout(r, 200));
  const p = await single(server, () => building, run, 'review');
  await builder;
  p.builds = builds;
  return p;
}

const rate = (n: number, s: number): number => Math.round(n / s);

/**
 * Waits until the capture log in `dir` holds nothing unloaded (every segment file empty or
 * removed; at most 120 s); returns the seconds waited.
 */
async function logLoaded(dir: string): Promise<number> {
  const t0 = performance.now();
  const waiting = (): boolean => {
    try {
      return readdirSync(dir).some((f) => {
        try {
          return statSync(join(dir, f)).size > 0;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  while (waiting() && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  return (performance.now() - t0) / 1000;
}

/**
 * CPU milliseconds (user + system) of a process, or of its main thread (the one that answers
 * HTTP), from /proc: what a request costs the server whatever else runs on the machine. NaN off
 * Linux.
 */
function cpuMs(pid: number | undefined, mainThread = false): number {
  try {
    const file = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
    const f = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** CPU ms used since the call: the server process, its main thread, and this (the clients') process. */
function cpuMeter(pid: number | undefined): () => { server: number; main: number; client: number } {
  const server0 = cpuMs(pid);
  const main0 = cpuMs(pid, true);
  const client0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(client0);
    return {
      server: cpuMs(pid) - server0,
      main: cpuMs(pid, true) - main0,
      client: (c.user + c.system) / 1000,
    };
  };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const bin = resolve(process.env.SEXTANT_BENCH_BIN ?? 'bin/sextant.js');
  const seconds = opts.full ? 10 : 4;
  const runs = 3;
  const { file: template, month, config } = await templateStore(opts);
  const work = join(opts.dir, 'capture-runs');
  mkdirSync(work, { recursive: true });
  const rows: Record<string, number>[] = [];
  for (let r = 1; r <= runs; r++) {
    const db = join(work, `run-${r}.duckdb`);
    for (const f of [db, db + '.wal']) rmSync(f, { force: true });
    rmSync(db + '.capture-log', { recursive: true, force: true });
    copyFileSync(template, db);
    const server = await startServer(bin, db, config);
    try {
      opts.log(`   run ${r}: batched (posthog-node, ${CLIENTS} clients × 100 events)…`);
      const bCpu = cpuMeter(server.child.pid);
      const b = await batched(server, seconds, r);
      const bUsed = bCpu();
      // And once what was acknowledged is loaded (the loader's pace defers part of its work past
      // the phase): the CPU per event that a sustained rate needs.
      const loadedSeconds = await logLoaded(db + '.capture-log');
      const bLoaded = bCpu();
      opts.log(`   run ${r}: single events (raw HTTP, ${CLIENTS} clients)…`);
      const until = performance.now() + seconds * 1000;
      const sCpu = cpuMeter(server.child.pid);
      const s = await single(server, () => performance.now() < until, r, 'single');
      const sUsed = sCpu();
      opts.log(`   run ${r}: single events to the floor (a bare Node HTTP server)…`);
      const floor = await startFloor();
      const fCpu = cpuMeter(floor.child.pid);
      const fUntil = performance.now() + seconds * 1000;
      const f = await single(floor, () => performance.now() < fUntil, r, 'floor');
      const fUsed = fCpu();
      floor.child.kill('SIGKILL');
      opts.log(`   run ${r}: single events while the review of ${month} is built…`);
      const v = await duringReview(server, seconds, month, r);
      const t0 = performance.now();
      server.child.kill('SIGTERM');
      await new Promise((done) => server.child.once('exit', done));
      const drainSeconds = (performance.now() - t0) / 1000;
      const engine = await DuckDbEngine.open(db);
      const [stored] = await engine.query<{ n: number }>(
        raw(`SELECT count(*)::BIGINT AS n FROM events WHERE properties->>'run' = '${r}'`),
      );
      await engine.close();
      const row = {
        batchedEventsPerSecond: rate(b.events, b.seconds),
        batchedRequestsPerSecond: rate(b.requests, b.seconds),
        batchedP50Ms: quantile(b.latenciesMs, 0.5),
        batchedP99Ms: quantile(b.latenciesMs, 0.99),
        // CPU per acknowledged event: the server (whole process, loading included; its HTTP
        // thread) and the bench's clients (posthog-node serialises and gzips every batch).
        batchedServerCpuUsPerEvent: (bUsed.server * 1000) / Math.max(1, b.events),
        batchedMainThreadCpuUsPerEvent: (bUsed.main * 1000) / Math.max(1, b.events),
        batchedClientCpuUsPerEvent: (bUsed.client * 1000) / Math.max(1, b.events),
        batchedServerCpuUsPerEventLoaded: (bLoaded.server * 1000) / Math.max(1, b.events),
        batchedLoadedSeconds: loadedSeconds,
        singleRequestsPerSecond: rate(s.events, s.seconds),
        singleP50Ms: quantile(s.latenciesMs, 0.5),
        singleP99Ms: quantile(s.latenciesMs, 0.99),
        // Per acknowledged request: the whole server (loading included) and its HTTP thread.
        singleServerCpuUsPerRequest: (sUsed.server * 1000) / Math.max(1, s.events),
        singleMainThreadCpuUsPerRequest: (sUsed.main * 1000) / Math.max(1, s.events),
        singleClientCpuUsPerRequest: (sUsed.client * 1000) / Math.max(1, s.events),
        floorRequestsPerSecond: rate(f.events, f.seconds),
        floorCpuUsPerRequest: (fUsed.server * 1000) / Math.max(1, f.events),
        // In one run, a few seconds apart: the server's rate as a share of the floor's, and its
        // HTTP thread's CPU per request as a multiple of the floor's.
        singleRateToFloor: s.events / s.seconds / Math.max(1e-9, f.events / f.seconds),
        singleMainThreadCpuToFloor:
          sUsed.main / Math.max(1, s.events) / (fUsed.server / Math.max(1, f.events)),
        reviewRequestsPerSecond: rate(v.events, v.seconds),
        reviewP50Ms: quantile(v.latenciesMs, 0.5),
        reviewP99Ms: quantile(v.latenciesMs, 0.99),
        reviewBuilds: v.builds ?? 0,
        failed: b.failed + s.failed + v.failed,
        acknowledged: b.events + s.events + v.events,
        stored: stored?.n ?? 0,
        drainSeconds,
        // The machine's 1-minute load average at the end of the run: figures are comparable only at a similar load.
        loadAverage: loadavg()[0]!,
      };
      opts.log(
        `   run ${r}: ${JSON.stringify(row, (_, x: unknown) => (typeof x === 'number' ? Math.round(x * 10) / 10 : x))}`,
      );
      rows.push(row);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  }
  const med = (k: string): number => median(rows.map((x) => x[k]!));
  const ratios = (...ks: string[]): Record<string, number> =>
    Object.fromEntries(ks.map((k) => [k, Math.round(med(k) * 100) / 100]));
  const figures = (...ks: string[]): Record<string, number> =>
    Object.fromEntries(ks.map((k) => [k, Math.round(med(k) * 10) / 10]));
  return [
    {
      name: `capture, batched (posthog-node, ${CLIENTS} clients × 100)`,
      medianSeconds: seconds,
      runs,
      figures: figures(
        'batchedEventsPerSecond',
        'batchedRequestsPerSecond',
        'batchedP50Ms',
        'batchedP99Ms',
        'batchedServerCpuUsPerEvent',
        'batchedMainThreadCpuUsPerEvent',
        'batchedClientCpuUsPerEvent',
        'batchedServerCpuUsPerEventLoaded',
        'batchedLoadedSeconds',
      ),
      target: '≥ 30,000 events/s acknowledged',
      met: med('batchedEventsPerSecond') >= 30_000,
    },
    {
      name: `capture, single events (raw HTTP, ${CLIENTS} clients)`,
      medianSeconds: seconds,
      runs,
      figures: {
        ...figures(
          'singleRequestsPerSecond',
          'singleP50Ms',
          'singleP99Ms',
          'singleServerCpuUsPerRequest',
          'singleMainThreadCpuUsPerRequest',
          'singleClientCpuUsPerRequest',
          'floorRequestsPerSecond',
          'floorCpuUsPerRequest',
        ),
        ...ratios('singleRateToFloor', 'singleMainThreadCpuToFloor'),
      },

      target: '≥ 5,000 requests/s',
      met: med('singleRequestsPerSecond') >= 5_000,
    },
    {
      name: `capture during a review build (single events)`,
      medianSeconds: seconds,
      runs,
      // With and without the build, from the same runs: what the build costs the acknowledgements.
      figures: {
        ...figures('reviewRequestsPerSecond', 'reviewP50Ms', 'reviewP99Ms', 'reviewBuilds'),
        p99WithoutReviewMs: Math.round(med('singleP99Ms') * 10) / 10,
        p99RatioWithToWithout: Math.round((med('reviewP99Ms') / med('singleP99Ms')) * 100) / 100,
      },
      target: 'p99 acknowledgement < 50 ms',
      met: med('reviewP99Ms') < 50,
    },
    {
      name: 'capture, every acknowledged event stored once (after SIGTERM drained the log)',
      medianSeconds: med('drainSeconds'),
      runs,
      figures: figures('acknowledged', 'stored', 'failed', 'drainSeconds', 'loadAverage'),
      target: 'stored = acknowledged',
      met: rows.every((x) => x.stored === x.acknowledged),
    },
  ];
}
