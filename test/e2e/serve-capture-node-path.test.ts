/**
 * `sextant serve` answers capture POSTs on Node's request and response, without Hono (app.ts
 * `createServerApp`), for speed. This proves it answers exactly as the Hono route does: the same
 * requests, each sent to the app in memory (`app.request`, the Hono route) and over loopback to
 * the listener `sextant serve` uses, get the same status, JSON body and headers, for every kind of
 * answer (200, 400 with rejections, 401, 413, 503 with Retry-After) and with or without CORS.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Case {
  name: string;
  path: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
}

const event = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  event: 'viewed',
  distinct_id: `u${n}`,
  timestamp: '2024-02-01T00:00:00Z',
  uuid: `0190a000-0000-7000-8000-${String(n).padStart(12, '0')}`,
  ...extra,
});

/** Answers compared: status, body and the headers a client can read. */
async function answer(res: Response): Promise<Record<string, unknown>> {
  const h = (k: string): string | null => res.headers.get(k);
  return {
    status: res.status,
    body: (await res.json()) as unknown,
    contentType: h('content-type'),
    allowOrigin: h('access-control-allow-origin'),
    vary: h('vary'),
    retryAfter: h('retry-after'),
  };
}

/** The same case twice, with its uuids made distinct per copy (else the second is a duplicate in the log: no different answer, but no different test either). */
function withCopy(c: Case, copy: string): Case {
  return typeof c.body === 'string' ? { ...c, body: c.body.replaceAll('0190a000', copy) } : c;
}

describe('capture answered without Hono', () => {
  it('gives the answer of the Hono route to every kind of capture request', async () => {
    server = await startTestServer();
    const s = server;
    const url = await s.listen();
    const ok = JSON.stringify({ api_key: PROJECT_KEY, ...event(1) });
    const cases: Case[] = [
      { name: 'single event', path: '/e/', body: ok },
      { name: 'no trailing slash', path: '/i/v0/e', body: ok },
      {
        name: 'batch with a bad event',
        path: '/batch/',
        body: JSON.stringify({
          api_key: PROJECT_KEY,
          batch: [event(2), event(3, { timestamp: 'yesterday' }), event(4, { event: '' })],
        }),
      },
      {
        name: 'key in the query',
        path: '/capture/?api_key=' + PROJECT_KEY + '&_=1706745600000',
        body: JSON.stringify(event(5, { timestamp: undefined })),
      },
      { name: 'wrong key in the query', path: '/e/?token=phc_wrong', body: ok },
      {
        name: 'bearer key',
        path: '/track/',
        body: JSON.stringify(event(6)),
        headers: { authorization: `Bearer ${PROJECT_KEY}` },
      },
      { name: 'no key', path: '/e/', body: JSON.stringify(event(7)) },
      {
        name: 'wrong key in the body',
        path: '/e/',
        body: JSON.stringify({ api_key: 'phc_other', ...event(8) }),
      },
      { name: 'not JSON', path: '/e/', body: '{not json' },
      { name: 'empty body', path: '/e/', body: '' },
      {
        name: 'bad _ query',
        path: '/e/?_=1e300',
        body: JSON.stringify({ api_key: PROJECT_KEY, event: 'x', distinct_id: 'u' }),
      },
      {
        name: 'gzip',
        path: '/batch/',
        body: gzipSync(JSON.stringify({ api_key: PROJECT_KEY, batch: [event(9)] })),
        headers: { 'content-encoding': 'gzip' },
      },
      { name: 'gzip that does not decompress', path: '/batch/', body: gzipSync('{}').subarray(0, 12) },
      {
        name: 'form body, base64',
        path: '/e/',
        body:
          'data=' +
          encodeURIComponent(
            Buffer.from(JSON.stringify({ api_key: PROJECT_KEY, ...event(10) })).toString('base64'),
          ),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        name: 'lz64',
        path: '/e/?compression=lz64',
        body: 'data=abc',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        name: 'from a page (CORS)',
        path: '/e/',
        body: JSON.stringify({ api_key: PROJECT_KEY, ...event(11) }),
        headers: { origin: 'https://shop.example' },
      },
      { name: 'CORS and an error', path: '/e/', body: '[1]', headers: { origin: 'https://shop.example' } },
      {
        name: 'declared too large',
        path: '/batch/',
        body: ok,
        headers: { 'x-declared': String(30 * 1024 * 1024) },
      },
    ];
    for (const c of cases) {
      const headers = { 'content-type': 'application/json', ...c.headers };
      // Content-Length cannot be set on fetch: the 413 on a declared length is sent raw below.
      if ('x-declared' in headers) continue;
      const viaHono = await answer(
        await s.app.request(c.path, { method: 'POST', body: withCopy(c, '0190b000').body, headers }),
      );
      const viaNode = await answer(
        await fetch(url + c.path, { method: 'POST', body: withCopy(c, '0190c000').body, headers }),
      );
      expect({ case: c.name, ...viaNode }).toEqual({ case: c.name, ...viaHono });
      expect(viaNode.status, c.name).not.toBe(500);
    }
    // The verdicts themselves (not just their sameness): the good ones stored, once per copy.
    await s.capture.settle();
    const [stored] = await s.engine.query<{ n: number }>(sql`SELECT count(*)::INTEGER AS n FROM events`);
    // Each copy stores events 1 (sent twice: one uuid), 2, 5, 6, 9, 10 and 11; the gzip and
    // base64 bodies (9, 10) are byte for byte the same in both copies, so one uuid each: 7 + 5.
    expect(stored?.n).toBe(12);
  });

  it('answers a declared body past the cap 413 before reading it, as the Hono route does', async () => {
    server = await startTestServer();
    const url = await server.listen();
    const { request } = await import('node:http');
    const res = await new Promise<{ status: number; body: string; origin?: string }>((done, fail) => {
      const req = request(
        url + '/batch/',
        { method: 'POST', headers: { 'content-length': 30 * 1024 * 1024, origin: 'https://a.example' } },
        (r) => {
          let body = '';
          r.on('data', (b: Buffer) => (body += b.toString()));
          r.on('end', () =>
            done({
              status: r.statusCode ?? 0,
              body,
              origin: r.headers['access-control-allow-origin'] as string,
            }),
          );
        },
      );
      req.on('error', fail);
      req.write('{');
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({
      error: 'the body is larger than 20971520 bytes (the capture limit)',
    });
    expect(res.origin).toBe('https://a.example');
  });

  it('answers 503 with Retry-After like the Hono route while the log is past its cap', async () => {
    server = await startTestServer({}, { server: { captureLog: { maxBytes: 1024 * 1024 } } });
    const s = server;
    const url = await s.listen();
    // The loader cannot load while a long write holds the store's queue.
    let release: () => void = () => undefined;
    const held = s.queue.run(() => new Promise<void>((r) => (release = r)));
    const big = (b: number): string =>
      JSON.stringify({
        api_key: PROJECT_KEY,
        batch: Array.from({ length: 100 }, (_, i) =>
          event(b * 1000 + i, { properties: { pad: 'x'.repeat(1000) } }),
        ),
      });
    for (let b = 0; b < 12; b++) await fetch(url + '/batch/', { method: 'POST', body: big(b) });
    const viaHono = await answer(await s.app.request('/e/', { method: 'POST', body: big(50) }));
    const viaNode = await answer(await fetch(url + '/e/', { method: 'POST', body: big(51) }));
    expect(viaHono.status).toBe(503);
    expect(viaHono.retryAfter).toBe('1');
    expect(viaNode).toEqual(viaHono);
    release();
    await held;
  });
});
