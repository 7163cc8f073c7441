import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { raw } from '../../src/store/sql.js';
import { spawnSextant, waitFor } from '../helpers/cli.js';
import { ADMIN_TOKEN, PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function call(s: TestServer, method: string, path: string, body?: unknown): Promise<Response> {
  return s.app.request(path, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Captures `batch` through `/batch/` and waits until the loader has stored it. */
async function captureBatch(s: TestServer, batch: object[]): Promise<void> {
  const cap = await s.app.request('/batch/', {
    method: 'POST',
    body: JSON.stringify({ api_key: PROJECT_KEY, batch }),
  });
  expect(cap.status).toBe(200);
  // Acknowledged once in the capture log; the API reads the store, which the loader fills.
  await s.capture.settle();
}

describe('JSON API and web UI', () => {
  it('needs the admin token: 401 without or with a wrong one, 200 with it', async () => {
    server = await startTestServer();
    expect((await server.app.request('/api/reviews')).status).toBe(401);
    const wrong = await server.app.request('/api/reviews', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await server.app.request('/api/reviews', { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([]);
    // The browser: no session sends it to /login; /?token= signs it in (an HttpOnly SameSite=Strict
    // session cookie, not the token) and redirects without the token.
    const anonymous = await server.app.request('/');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2F');
    const refused = await server.app.request('/?token=nope');
    expect(refused.headers.get('location')).toBe('/login?failed=1');
    expect(refused.headers.get('set-cookie')).toBeNull();
    const login = await server.app.request('/?token=' + ADMIN_TOKEN);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    const page = await server.app.request('/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Growth reviews');
  });

  it('runs an insight on captured events, and names the field of a bad spec', async () => {
    server = await startTestServer();
    const batch = [
      { event: 'signed up', distinct_id: 'a', timestamp: '2024-03-01T10:00:00Z' },
      { event: 'signed up', distinct_id: 'b', timestamp: '2024-03-01T11:00:00Z' },
      { event: 'signed up', distinct_id: 'c', timestamp: '2024-03-02T09:00:00Z' },
      { event: 'other', distinct_id: 'a', timestamp: '2024-03-02T09:00:00Z' },
    ];
    await captureBatch(server, batch);
    const res = await call(server, 'POST', '/api/query', {
      kind: 'trends',
      events: ['signed up'],
      dateFrom: '2024-03-01',
      dateTo: '2024-03-03',
      interval: 'day',
    });
    expect(res.status).toBe(200);
    // 'signed up': 2 on the 1st (a, b), 1 on the 2nd (c), 0 on the 3rd.
    expect(await res.json()).toEqual({
      series: [
        {
          event: 'signed up',
          points: [
            { date: '2024-03-01', value: 2 },
            { date: '2024-03-02', value: 1 },
            { date: '2024-03-03', value: 0 },
          ],
        },
      ],
    });
    const bad = await call(server, 'POST', '/api/query', {
      kind: 'trends',
      events: ['signed up'],
      dateFrom: '2024-03-01',
      dateTo: '2024-03-03',
      interval: 'fortnight',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("field 'interval'");
    const notJson = await server.app.request('/api/query', { method: 'POST', headers: auth, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('keeps to-dos and decisions, builds a review, and the UI escapes a hostile note', async () => {
    server = await startTestServer();
    const added = await call(server, 'POST', '/api/todos', {
      product: 'all',
      month: '2024-02',
      title: 'Raise mrr with annual plans',
      owner: 'Ada',
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: number };
    expect((await call(server, 'POST', `/api/todos/${id}/done`)).status).toBe(200);
    const todos = (await (await call(server, 'GET', '/api/todos?product=all')).json()) as {
      id: number;
      status: string;
      metricIds: string[];
    }[];
    // 'mrr' written in the title is followed up as a metric id.
    expect(todos.map((t) => [t.id, t.status, t.metricIds])).toEqual([[id, 'done', ['mrr']]]);
    expect((await call(server, 'POST', '/api/todos/9999/done')).status).toBe(400);

    const badOutcome = await call(server, 'POST', '/api/decisions', {
      product: 'all',
      month: '2024-02',
      outcome: 'panic',
    });
    expect(badOutcome.status).toBe(400);
    expect(((await badOutcome.json()) as { error: string }).error).toContain("field 'outcome'");
    const hostile = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';
    const decided = await call(server, 'POST', '/api/decisions', {
      product: 'all',
      month: '2024-02',
      outcome: 'continue',
      note: hostile,
    });
    expect(decided.status).toBe(201);

    const built = await call(server, 'POST', '/api/reviews/all/2024-03');
    expect(built.status).toBe(201);
    const review = (await built.json()) as {
      product: string;
      month: string;
      previous: { decision: { note: string } };
    };
    expect([review.product, review.month]).toEqual(['all', '2024-03']);
    expect(review.previous.decision.note).toBe(hostile);
    expect((await call(server, 'POST', '/api/reviews/nope/2024-03')).status).toBe(400);
    expect((await call(server, 'POST', '/api/reviews/all/March')).status).toBe(400);

    const list = (await (await call(server, 'GET', '/api/reviews')).json()) as {
      product: string;
      month: string;
    }[];
    expect(list.map((r) => [r.product, r.month])).toEqual([['all', '2024-03']]);
    const stored = await call(server, 'GET', '/api/reviews/all/2024-03');
    expect(((await stored.json()) as { month: string }).month).toBe('2024-03');
    expect((await call(server, 'GET', '/api/reviews/all/2023-01')).status).toBe(404);

    const index = await (await server.app.request('/', { headers: auth })).text();
    expect(index).toContain('href="/reviews/all/2024-03"');
    const page = await server.app.request('/reviews/all/2024-03', { headers: auth });
    expect(page.status).toBe(200);
    const htmlText = await page.text();
    expect(htmlText).toContain('&lt;script&gt;alert(');
    expect(htmlText).not.toContain('<script>alert(');
    expect(htmlText).not.toContain('<img src=x');

    const metrics = (await (await call(server, 'GET', '/api/metrics?month=2024-03&product=all')).json()) as {
      id: string;
      series: unknown[];
    }[];
    const mrr = metrics.find((m) => m.id === 'mrr');
    expect(mrr?.series).toHaveLength(13);
    expect((await call(server, 'GET', '/api/metrics?month=2024-3')).status).toBe(400);
  });

  it('builds a review from scratch with ?cache=false, and names the field of a bad value', async () => {
    server = await startTestServer();
    const batch = [
      { event: 'signed up', distinct_id: 'a', timestamp: '2024-03-01T10:00:00Z' },
      { event: 'page viewed', distinct_id: 'a', timestamp: '2024-03-05T10:00:00Z' },
    ];
    await captureBatch(server, batch);
    type Built = { metrics: unknown[] };
    const first = (await (await call(server, 'POST', '/api/reviews/all/2024-03')).json()) as Built;
    expect(first.metrics.length).toBeGreaterThan(0);
    // The cached part is replaced by one without metrics: a build that reads the cache says so.
    await server.engine.exec(
      raw(`UPDATE review_cache SET payload = json_merge_patch(payload, '{"metrics": []}')`),
    );
    const cached = (await (await call(server, 'POST', '/api/reviews/all/2024-03')).json()) as Built;
    expect(cached.metrics).toEqual([]);
    const fresh = await call(server, 'POST', '/api/reviews/all/2024-03?cache=false');
    expect(fresh.status).toBe(201);
    expect(((await fresh.json()) as Built).metrics).toEqual(first.metrics);
    // Neither read nor written: the tampered entry is still what a cached build reads.
    const again = (await (await call(server, 'POST', '/api/reviews/all/2024-03?cache=true')).json()) as Built;
    expect(again.metrics).toEqual([]);
    const bad = await call(server, 'POST', '/api/reviews/all/2024-03?cache=no');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("field 'cache'");
  });
});

describe('sextant serve (the CLI)', () => {
  it('prints the URL and a generated admin token, serves, and closes the store on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-serve-cli-'));
    const db = join(dir, 'store.duckdb');
    const env = {
      SEXTANT_ADMIN_TOKEN: '',
      SEXTANT_PROJECT_KEY: '',
      STRIPE_WEBHOOK_SECRET: '',
    };
    // The built CLI: under vite-node, vite's own SIGTERM handler exits (143) before the server
    // has loaded its capture log and closed the store.
    const child = spawnSextant(['--db', db, 'serve', '--port', '0'], env);
    try {
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor(() => /project key: /.test(out), 'the server to start', 120_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const token = /admin token: (\S+)/.exec(out)?.[1];
      expect(url).toBeDefined();
      const keys = JSON.parse(readFileSync(join(dir, 'server-keys.json'), 'utf8')) as { adminToken: string };
      expect(keys.adminToken).toBe(token);
      expect((await fetch(`${url}/api/reviews`)).status).toBe(401);
      const ok = await fetch(`${url}/api/reviews`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Closed cleanly: DuckDB checkpointed its write-ahead log into the file.
      expect(existsSync(db + '.wal')).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
