import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeDemoFiles, type DemoFiles } from '../../src/demo/generate.js';
import { sql } from '../../src/store/sql.js';
import { importDemo } from '../helpers/demo-store.js';
import { ADMIN_TOKEN, PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

/**
 * A capture is acknowledged once it is in the capture log, never behind the store; its loader
 * stores it while a review build runs (the build's queries are on the server's read connections,
 * server/context.ts) — with the build holding the queue throughout, it would wait for the whole
 * build.
 */
let server: TestServer;
let files: DemoFiles;
const demoDir = mkdtempSync(join(tmpdir(), 'sextant-build-demo-'));

beforeAll(async () => {
  files = await writeDemoFiles({ outDir: demoDir, seed: 5, orgs: 40, events: 20_000, until: '2026-11-05' });
  server = await startTestServer({}, parse(readFileSync(files.config, 'utf8')));
  await importDemo(server.engine, files);
}, 180_000);

afterAll(async () => {
  await server.close();
  rmSync(demoDir, { recursive: true, force: true });
});

describe('building a review in the server', () => {
  it('lets a capture through while the build runs, and both are kept', async () => {
    let built = false;
    const building = Promise.resolve(
      server.app.request(`/api/reviews/all/${files.month}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
    ).then((r) => {
      built = true;
      return r;
    });
    // Let the build start its statements first.
    await new Promise((r) => setTimeout(r, 300));
    const capture = await server.app.request('/batch/', {
      method: 'POST',
      body: JSON.stringify({
        api_key: PROJECT_KEY,
        batch: [{ event: 'during build', distinct_id: 'late-user', timestamp: '2026-11-04T12:00:00Z' }],
      }),
    });
    expect(capture.status).toBe(200);
    expect(built).toBe(false);
    const res = await building;
    await server.capture.settle();
    expect(res.status).toBe(201);
    expect(((await res.json()) as { month: string }).month).toBe(files.month);
    const [row] = await server.engine.query<{ n: number }>(
      sql`SELECT count(*) AS n FROM events WHERE event = 'during build'`,
    );
    expect(Number(row!.n)).toBe(1);
  });
});
