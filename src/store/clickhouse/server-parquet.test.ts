/**
 * The Parquet paths of a `clickhouse://` server (engine.ts `appendParquet`, `scanToParquet`): the
 * bytes go through `@clickhouse/client` over HTTP, never by a shared filesystem. No ClickHouse
 * server runs here (chdb has no HTTP server), so a loopback HTTP endpoint stands in for one and
 * records what the client sends: what a server would receive, byte for byte. What the server then
 * does with a Parquet body is ClickHouse's own (the same statements run on chdb in staging.test.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw } from '../sql.js';
import { ClickHouseEngine } from './engine.js';

interface Request {
  url: URL;
  body: Buffer;
}

let server: Server;
let port = 0;
const requests: Request[] = [];
/** What the endpoint answers a query with (the bytes of a Parquet result). */
let answer = Buffer.alloc(0);

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void body(req).then((b) => {
      requests.push({ url: new URL(req.url ?? '/', 'http://localhost'), body: b });
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function open(): Promise<ClickHouseEngine> {
  return ClickHouseEngine.open({
    kind: 'server',
    url: `http://127.0.0.1:${port}`,
    username: 'default',
    password: '',
    database: 'growth',
    display: `clickhouse://127.0.0.1:${port}/growth`,
  });
}

describe('the Parquet paths of a clickhouse:// server', () => {
  it('appends a Parquet file by sending its bytes through the client, with its deduplication token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-ch-parquet-'));
    const file = join(dir, 'batch.parquet');
    // Not a real Parquet file: the point is that these exact bytes reach the server.
    const bytes = Buffer.from([0x50, 0x41, 0x52, 0x31, 0x00, 0xff, 0x80, 0x0a, 0x50, 0x41, 0x52, 0x31]);
    writeFileSync(file, bytes);
    const e = await open();
    try {
      requests.length = 0;
      await e.appendParquet('events', ['uuid', 'event'], file, { dedupToken: 'sextant-import:x:0' });
      expect(requests).toHaveLength(1);
      const [r] = requests;
      expect(r?.url.searchParams.get('query')).toBe('INSERT INTO events (uuid, event) FORMAT Parquet');
      expect(r?.url.searchParams.get('insert_deduplication_token')).toBe('sextant-import:x:0');
      expect(r?.url.searchParams.get('database')).toBe('growth');
      expect(r?.body.equals(bytes)).toBe(true);
    } finally {
      await e.close();
    }
  });

  it('writes a keyed scan answered as Parquet to a local file, its bytes as the server sent them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-ch-parquet-'));
    const file = join(dir, 'fetched.parquet');
    answer = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const e = await open();
    try {
      requests.length = 0;
      await e.scanToParquet('events', ['uuid', 'timestamp'], file, raw("event = '$groupidentify'"));
      expect(requests).toHaveLength(1);
      const sent = requests[0]?.body.toString('utf8') ?? '';
      expect(sent).toBe(
        "SELECT `uuid`, `timestamp` FROM `events` WHERE event = '$groupidentify' FORMAT Parquet",
      );
      expect(readFileSync(file).equals(answer)).toBe(true);
    } finally {
      answer = Buffer.alloc(0);
      await e.close();
    }
  });
});
