import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MB = 1024 * 1024;

describe('the capture log', () => {
  it('answers 503 with Retry-After once the unloaded log passes its cap, and 200 again once loaded', async () => {
    server = await startTestServer({}, { server: { captureLog: { maxBytes: MB } } });
    const s = server;
    // The store is busy (a long write holds the queue): the loader cannot load.
    let release: () => void = () => undefined;
    const held = s.queue.run(() => new Promise<void>((r) => (release = r)));
    const batch = (b: number): string =>
      JSON.stringify({
        api_key: PROJECT_KEY,
        batch: Array.from({ length: 100 }, (_, i) => ({
          uuid: `b${b}-${i}`,
          event: 'viewed',
          distinct_id: `u${i % 7}`,
          timestamp: '2024-02-01T00:00:00Z',
          properties: { pad: 'x'.repeat(1000) },
        })),
      });
    const statuses: number[] = [];
    let busy: Response | undefined;
    for (let b = 0; b < 40 && !busy; b++) {
      const res = await s.app.request('/batch/', { method: 'POST', body: batch(b) });
      statuses.push(res.status);
      if (res.status === 503) busy = res;
    }
    // ~100 kB a batch: 200 until the log holds more than 1 MB, then 503.
    expect(statuses.slice(0, -1).every((x) => x === 200)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(10);
    expect(statuses.length).toBeLessThanOrEqual(12);
    expect(busy?.status).toBe(503);
    expect(busy?.headers.get('retry-after')).toBe('1');
    expect(((await busy!.json()) as { error: string }).error).toMatch(/not yet loaded/);
    // Bounded: at most one request past the cap.
    expect(s.capture.log.unloadedBytes()).toBeLessThan(MB + 150_000);
    const acked = statuses.filter((x) => x === 200).length;
    release();
    await held;
    await s.capture.settle();
    expect(s.capture.log.unloadedBytes()).toBe(0);
    const again = await s.app.request('/batch/', { method: 'POST', body: batch(99) });
    expect(again.status).toBe(200);
    await s.capture.settle();
    const [n] = await s.engine.query<{ n: number }>(sql`SELECT count(*)::INT AS n FROM events`);
    expect(n?.n).toBe((acked + 1) * 100);
  });

  it('keeps two identical events of one request, and stores a request sent again once', async () => {
    server = await startTestServer();
    const s = server;
    const body = JSON.stringify({
      api_key: PROJECT_KEY,
      batch: [
        { uuid: 'a', event: 'x', distinct_id: 'p', timestamp: '2024-02-01T00:00:00Z' },
        { event: 'no uuid', distinct_id: 'p', timestamp: '2024-02-01T00:00:00Z', properties: { n: 1 } },
        { event: 'no uuid', distinct_id: 'p', timestamp: '2024-02-01T00:00:00Z', properties: { n: 1 } },
      ],
    });
    for (let i = 0; i < 2; i++) {
      expect((await s.app.request('/batch/', { method: 'POST', body })).status).toBe(200);
      await s.capture.settle();
    }
    const rows = await s.engine.query<{ event: string; n: number }>(
      sql`SELECT event, count(*)::INT AS n FROM events GROUP BY 1 ORDER BY 1`,
    );
    // Without a uuid the key is content and occurrence in the loaded file (docs/ingest.md).
    expect(rows).toEqual([
      { event: 'no uuid', n: 2 },
      { event: 'x', n: 1 },
    ]);
    const ledger = await s.engine.query<{ records: number; inserted: number; duplicates: number }>(
      sql`SELECT records, inserted, duplicates FROM imports WHERE kind = 'events' ORDER BY imported_at`,
    );
    expect(ledger).toEqual([
      { records: 3, inserted: 3, duplicates: 0 },
      { records: 3, inserted: 0, duplicates: 3 },
    ]);
  });
});
