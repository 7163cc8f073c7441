import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PostHog } from 'posthog-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';
import { spawnSextant, waitFor } from '../helpers/cli.js';

// Capture hardening (issue 15, item 6) against a real `sextant serve` child process: the key is
// checked before the body is read when it is outside the body; the body is read and decompressed
// with hard caps (413 past them) so a gzip bomb costs bounded memory — measured as the server's
// peak RSS (VmHWM) — and hostile bodies, queries and headers get a 4xx, never a 500.

const KEY = 'phc_limits_test_key';
let dir = '';
let db = '';
let url = '';
let server: ReturnType<typeof spawnSextant> | undefined;
let serverErr = '';

/** The server's peak resident set so far, in MB (Linux `VmHWM`). */
function peakRssMb(): number {
  const status = readFileSync(`/proc/${server!.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function post(
  path: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url + path, {
    method: 'POST',
    body: typeof body === 'string' ? body : Buffer.from(body),
    headers,
  });
  return { status: res.status, text: await res.text() };
}

/** A gzip bomb: `members` gzip members of 16 MB of zeros each, ~16 kB apiece on the wire. */
function gzipBomb(members: number): Buffer {
  const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-capture-limits-'));
  db = join(dir, 'store.duckdb');
  server = spawnSextant(['--db', db, 'serve', '--port', '0'], {
    SEXTANT_PROJECT_KEY: KEY,
    SEXTANT_ADMIN_TOKEN: 'admin',
  });
  let out = '';
  server.stdout.on('data', (b: Buffer) => (out += b.toString()));
  server.stderr.on('data', (b: Buffer) => (serverErr += b.toString()));
  await waitFor(() => /project key: /.test(out), 'the server to start', 120_000);
  url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
}, 180_000);

afterAll(() => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The events the server should have stored: the SDK's and the one valid request below. */
const sdkUuids = new Set<string>();

describe('capture limits (a real sextant serve)', () => {
  it('stores what the real posthog-node SDK sends (gzip), and nothing with a wrong key', async () => {
    const sent: { status: number; body: unknown }[] = [];
    const client = (key: string): PostHog =>
      new PostHog(key, {
        host: url,
        flushAt: 5,
        flushInterval: 0,
        fetchRetryCount: 0,
        fetch: async (u, options) => {
          const res = await fetch(u, options);
          sent.push({ status: res.status, body: options.body });
          return res;
        },
      });
    const good = client(KEY);
    for (let i = 0; i < 12; i++) {
      const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      sdkUuids.add(uuid);
      good.capture({ distinctId: `u${i % 3}`, event: 'report viewed', properties: { i }, uuid });
    }
    await good.shutdown();
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((s) => s.status === 200)).toBe(true);
    // posthog-node compresses its batches: the gzip path is the one exercised.
    expect(sent.some((s) => s.body instanceof Uint8Array && s.body[0] === 0x1f && s.body[1] === 0x8b)).toBe(
      true,
    );

    sent.length = 0;
    const wrong = client('phc_wrong_key');
    wrong.on('error', () => undefined);
    wrong.capture({ distinctId: 'intruder', event: 'report viewed' });
    await wrong.shutdown();
    expect(sent.map((s) => s.status)).toEqual([401]);
  });

  it('refuses a gzip bomb in bounded memory: 401 before decompressing a wrong query key, else 413', async () => {
    const bomb = gzipBomb(128); // 2 MB on the wire, 2 GB of zeros once decompressed
    expect(bomb.length).toBeGreaterThan(1.5 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(3 * 1024 * 1024);
    const before = peakRssMb();
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };

    const wrongKey = await post('/batch/?api_key=phc_wrong', bomb, headers);
    expect(wrongKey.status).toBe(401);
    const wrongBearer = await post('/i/v0/e/', bomb, { ...headers, authorization: 'Bearer phc_wrong' });
    expect(wrongBearer.status).toBe(401);
    // The key is inside the body: it must be decompressed, and stops at the cap.
    const inside = await post('/batch/', bomb, headers);
    expect(inside.status).toBe(413);
    expect(inside.text).toMatch(/larger than \d+ bytes/);
    const rightKey = await post(`/batch/?api_key=${KEY}`, bomb, headers);
    expect(rightKey.status).toBe(413);
    // JSON that only grows once decompressed: the same.
    const jsonBomb = gzipSync(
      `{"api_key":"${KEY}","batch":[` + '{"event":"x","distinct_id":"p"},'.repeat(800_000) + '{}]}',
    );
    expect((await post('/batch/', jsonBomb, headers)).status).toBe(413);

    const after = peakRssMb();
    // Measured: 2 GB of output stopped at 20 MB; peak RSS grew by tens of MB at most (before the
    // caps: 4.4 GB for one such request).
    expect(after - before).toBeLessThan(150);
    expect(serverErr).not.toMatch(/internal error|RangeError/);
  });

  it('answers every malformed body, of every shape, with a 4xx naming the problem', async () => {
    const gz = gzipSync(JSON.stringify({ api_key: KEY, batch: [{ event: 'x', distinct_id: 'p' }] }));
    const corrupted = Buffer.from(gz);
    corrupted[14] = corrupted[14]! ^ 0xff;
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const cases: [string, Uint8Array | string, Record<string, string>?][] = [
      ['truncated gzip', gz.subarray(0, gz.length - 9)],
      ['corrupted gzip', corrupted],
      ['gzip of text', gzipSync('hello, world')],
      ['gzip of gzip', gzipSync(gz)],
      ['magic bytes only', Buffer.from([0x1f, 0x8b])],
      ['truncated base64', Buffer.from('{"api_key":"x","batch":[').toString('base64').slice(0, -3)],
      ['base64 of text', Buffer.from('not json').toString('base64')],
      ['form, bad base64', 'data=%%%%', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['form, no data', 'x=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['form, empty data', 'data=', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['form, lz64', 'compression=lz64&data=N4Ig', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['form, gzip data', 'data=' + encodeURIComponent(gz.toString('latin1'))],
      ['empty body', ''],
      ['whitespace', '   \n '],
      ['not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28])],
      ['a JSON string', '"hello"'],
      ['a JSON number', '1e400'],
      ['null', 'null'],
      ['an array of numbers', `{"api_key":"${KEY}","batch":[1,2]}`],
      ['batch not a list', `{"api_key":"${KEY}","batch":"x"}`],
      ['deeply nested JSON', deep],
      ['event of wrong types', `{"api_key":"${KEY}","batch":[{"event":1,"distinct_id":{"a":1}}]}`],
      [
        'timestamp far away',
        `{"api_key":"${KEY}","batch":[{"event":"x","distinct_id":"p","timestamp":"+275760-09-13T00:00:00Z"}]}`,
      ],
      [
        'offset beyond dates',
        `{"api_key":"${KEY}","batch":[{"event":"x","distinct_id":"p","offset":1e300}]}`,
      ],
      [
        'sent_at nonsense',
        `{"api_key":"${KEY}","sent_at":{"a":1},"batch":[{"event":"x","distinct_id":"p","offset":"1"}]}`,
      ],
      ['key of wrong type', `{"api_key":["${KEY}"],"batch":[{"event":"x","distinct_id":"p"}]}`],
    ];
    const bad: string[] = [];
    for (const [name, body, headers] of cases) {
      const r = await post('/batch/', body, headers);
      if (r.status < 400 || r.status >= 500 || !/"error"/.test(r.text))
        bad.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(bad).toEqual([]);
    expect(serverErr).not.toMatch(/internal error|RangeError|TypeError/);
  });

  it('answers absurd query strings and headers with a 4xx, never a 500', async () => {
    const one = JSON.stringify({
      api_key: KEY,
      event: 'x',
      distinct_id: 'p',
      offset: 5,
      uuid: 'c0000000-0000-4000-8000-000000000001',
    });
    const bad: string[] = [];
    for (const q of [
      '_=1e300',
      `_=${'9'.repeat(6000)}`,
      '_=-1',
      '_=soon',
      '_=99999999999999999',
      `x=${'a'.repeat(20_000)}`,
    ]) {
      const r = await post(`/e/?${q}`, one);
      if (r.status < 400 || r.status >= 500)
        bad.push(`?${q.slice(0, 30)}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    for (const [name, headers] of [
      ['huge header', { 'x-filler': 'a'.repeat(20_000) }],
      ['bearer of junk', { authorization: 'Bearer ' + 'z'.repeat(3000) }],
      [
        'content type of junk',
        { 'content-type': 'application/x-www-form-urlencoded; charset=' + 'q'.repeat(3000) },
      ],
    ] as const) {
      const r = await post('/e/', one, headers);
      if (r.status >= 500) bad.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
      // A charset the server ignores is no reason to refuse a valid event: that one is stored.
      if (name === 'content type of junk' && r.status === 200)
        sdkUuids.add('c0000000-0000-4000-8000-000000000001');
      else if (r.status < 400) bad.push(`${name}: ${r.status}`);
    }
    // A declared length past the cap is refused before any of the body is read.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/batch/`, {
        method: 'POST',
        headers: { 'content-length': String(5 * 1024 * 1024 * 1024), 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"api_key":');
    });
    if (declared !== 413) bad.push(`Content-Length of 5 GB: ${declared}`);
    expect(bad).toEqual([]);
    expect(serverErr).not.toMatch(/internal error|RangeError|TypeError/);
  });

  it('stored exactly the SDK events, none of the hostile requests, and closes cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
    const engine = await DuckDbEngine.open(db);
    try {
      const rows = await engine.query<{ uuid: string }>(raw('SELECT uuid FROM events ORDER BY uuid'));
      expect(rows.map((r) => r.uuid)).toEqual([...sdkUuids].sort());
    } finally {
      await engine.close();
    }
  });
});
