import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PostHog } from 'posthog-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';
import { spawnSextant, waitFor } from '../helpers/cli.js';
import { startServe } from './serve-process.js';

// `sextant serve` (the built CLI, a real child process) on a database that does not exist yet,
// fed by the real posthog-node SDK, then killed with SIGKILL: every event it answered 200 for
// must be in the store, once, after it is started again (it loads what its capture log holds) and
// stopped. Before the migrations were checkpointed,
// the store could not be opened at all ("Failure while replaying WAL file") and all were lost.

const KEY = 'phc_crash_test_key';
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** The uuids of a `/batch/` request body as posthog-node sends it (gzip bytes or JSON text). */
async function batchUuids(body: unknown): Promise<string[]> {
  let bytes: Buffer;
  if (body instanceof Blob) bytes = Buffer.from(await body.arrayBuffer());
  else if (body instanceof Uint8Array) bytes = Buffer.from(body);
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else throw new Error(`unexpected request body ${typeof body}`);
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  const json = JSON.parse(text) as { batch?: { uuid?: string }[] };
  return (json.batch ?? []).map((e) => e.uuid ?? '').filter(Boolean);
}

describe('sextant serve killed with SIGKILL', () => {
  it('keeps every event it acknowledged with 200, on a new database, exactly once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-crash-serve-'));
    const db = join(dir, 'new.duckdb');
    const child = spawnSextant(['--db', db, 'serve', '--port', '0'], {
      SEXTANT_PROJECT_KEY: KEY,
      SEXTANT_ADMIN_TOKEN: 'admin',
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    try {
      await waitFor(() => /project key: /.test(out), 'the server to start', 120_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;

      // The SDK's own requests, recorded: which uuids each 200 acknowledged.
      const acked = new Set<string>();
      let requests = 0;
      const client = new PostHog(KEY, {
        host: url,
        flushAt: 10,
        flushInterval: 0,
        // Once the server is dead, fail fast instead of retrying for seconds.
        fetchRetryCount: 0,
        fetch: async (u, options) => {
          const res = await fetch(u, options);
          if (u.includes('/batch') && res.status === 200) {
            requests++;
            for (const id of await batchUuids(options.body)) acked.add(id);
          }
          return res;
        },
      });
      client.on('error', () => undefined);
      // Traffic goes on while the server is killed: the kill lands among requests in flight.
      let stop = false;
      const sending = (async () => {
        for (let i = 0; !stop && i < 5000; i++) {
          client.capture({
            distinctId: `user-${i % 37}`,
            event: i % 3 ? 'report viewed' : 'report exported',
            properties: { i },
          });
          if (i % 10 === 9) await client.flush().catch(() => undefined);
        }
      })();
      await waitFor(() => requests >= 8, '8 acknowledged batches', 60_000, 5);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      stop = true;
      await sending;
      await client.shutdown(100).catch(() => undefined);
      // Every 200 the client saw was sent before the server died.
      expect(acked.size).toBeGreaterThanOrEqual(80);
      // Started again, it loads the log the killed one left; stopped, it closes the store.
      const again = await startServe(db, { SEXTANT_PROJECT_KEY: KEY, SEXTANT_ADMIN_TOKEN: 'admin' });
      expect(await again.stop()).toEqual({ code: 0, signal: null });
      const engine = await DuckDbEngine.open(db);
      try {
        const rows = await engine.query<{ uuid: string; n: number }>(
          raw('SELECT uuid, count(*)::INTEGER AS n FROM events GROUP BY uuid'),
        );
        const stored = new Map(rows.map((r) => [r.uuid, r.n]));
        const lost = [...acked].filter((id) => !stored.has(id));
        expect(lost).toEqual([]);
        expect(rows.filter((r) => r.n > 1)).toEqual([]);
      } finally {
        await engine.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
