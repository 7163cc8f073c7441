import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

/**
 * Readers never wait for the capture loader, and the loader never waits for a reader: the server's
 * queries run on their own connections of the store (server/context.ts `serverReads`), its writes
 * on the store queue's. The reader here is a single statement that cannot finish until the test
 * lets it — DuckDB reading a named pipe nobody writes yet — sent through the very pool the routes
 * use. With one connection for both (the queue before), the loader's import would wait behind it
 * and `settle()` would never resolve: the test would time out instead of passing.
 */
let server: TestServer;
let fifo: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.listen();
  fifo = join(server.dir, 'slow-reader.fifo');
  execFileSync('mkfifo', [fifo]);
});

afterAll(async () => {
  // Should the test fail with the reader still waiting, end it so the store can close: a write end
  // opened without blocking (ENXIO when nobody reads the pipe any more).
  try {
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(fd);
  } catch {
    // nobody reading: nothing to end
  }
  await server?.close();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('a long reader in flight on the server', () => {
  it('acknowledges and loads captures before the reader finishes, and the reader sees the committed store', async () => {
    const order: string[] = [];
    // A statement that runs until the pipe is written and closed.
    const reading = server.reads
      .query<{ n: number }>(
        sql`SELECT count(*) AS n FROM read_csv(${fifo}, header = false, columns = {'line': 'VARCHAR'})`,
      )
      .then((rows) => {
        order.push('reader finished');
        return rows;
      });

    // Single-event and batch captures, from several clients at once, over real HTTP.
    const singles = Array.from({ length: 16 }, (_, i) =>
      post('/e/', {
        api_key: PROJECT_KEY,
        event: 'during read',
        distinct_id: `reader-user-${i}`,
        uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        timestamp: '2026-11-04T12:00:00Z',
      }),
    );
    const batch = post('/batch/', {
      api_key: PROJECT_KEY,
      batch: Array.from({ length: 50 }, (_, i) => ({
        event: 'during read',
        distinct_id: `reader-batch-${i % 7}`,
        uuid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
        timestamp: '2026-11-04T12:00:01Z',
      })),
    });
    const answers = await Promise.all([...singles, batch]);
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    order.push('acknowledged');

    await server.capture.settle();
    order.push('loaded');
    // Read through the server's pool too: its other connection answers beside the busy one.
    const [stored] = await server.reads.query<{ n: number }>(
      sql`SELECT count(*) AS n FROM events WHERE event = 'during read'`,
    );
    expect(Number(stored!.n)).toBe(66);
    order.push('read back');
    expect(order).toEqual(['acknowledged', 'loaded', 'read back']);

    // Now let the reader finish: it read 3 lines, and it never saw a half-loaded store.
    await writeFile(fifo, 'a\nb\nc\n');
    const [rows] = await reading;
    expect(Number(rows!.n)).toBe(3);
    expect(order).toEqual(['acknowledged', 'loaded', 'read back', 'reader finished']);
  });
});
