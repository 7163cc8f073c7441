import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSubscriptions } from '../../src/ingest/subscriptions/import.js';
import { renderHtml } from '../../src/render/html.js';
import { loadReview } from '../../src/review/store.js';
import { insertEvents } from '../helpers/test-events.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './serve-harness.js';

/**
 * Every route of the web app in memory (`app.request`), on a small store made by hand: two
 * customers and five users over March and April 2024. A browser would send `Origin` with its
 * form posts; `post()` does too.
 */
let s: TestServer;
let cookie = '';
const ORIGIN = 'http://localhost';

beforeAll(async () => {
  s = await startTestServer({ now: () => new Date('2024-05-10T12:00:00Z') });
  const csv = join(s.dir, 'subs.csv');
  writeFileSync(
    csv,
    `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
k3,org-c,Pro,prod_x,usd,4000,month,1,1,2024-02-01,,active
`,
  );
  await importSubscriptions(s.engine, csv);
  await insertEvents(s.engine, [
    {
      event: 'use',
      person: 'u1',
      at: '2024-03-01T10:00:00',
      organization: 'org-a',
      properties: { plan: 'team' },
    },
    {
      event: 'use',
      person: 'u1',
      at: '2024-03-09T10:00:00',
      organization: 'org-a',
      properties: { plan: 'team' },
    },
    {
      event: 'use',
      person: 'u2',
      at: '2024-03-02T10:00:00',
      organization: 'org-c',
      properties: { plan: 'pro' },
    },
    {
      event: 'use',
      person: 'u1',
      at: '2024-04-02T10:00:00',
      organization: 'org-a',
      properties: { plan: 'team' },
    },
    {
      event: 'use',
      person: 'u3',
      at: '2024-04-03T10:00:00',
      organization: 'org-c',
      properties: { plan: 'pro' },
    },
  ]);
});

afterAll(async () => {
  await s.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  s.app.request(path, { headers: { cookie, ...headers } });

const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  s.app.request(path, {
    method: 'POST',
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });

describe('signing in', () => {
  it('sends a page to /login, refuses a wrong token, and signs in with a signed session cookie', async () => {
    const home = await s.app.request('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login?next=%2F');
    const form = await s.app.request('/login?next=%2Finsights');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('value="/insights"');

    const wrong = await post('/login', { token: 'nope', next: '/' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('not the admin token');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const ok = await post('/login', { token: ADMIN_TOKEN, next: '/insights' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/insights');
    const set = ok.headers.get('set-cookie')!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toContain(ADMIN_TOKEN);
    cookie = set.split(';')[0]!;
    expect((await get('/')).status).toBe(200);
  });

  it('goes nowhere but this server after signing in, and refuses a forged or foreign post', async () => {
    const away = await post('/login', { token: ADMIN_TOKEN, next: '//evil.example/x' });
    expect(away.headers.get('location')).toBe('/');
    const forged = cookie.replace(/=(\d)/, '=9');
    expect((await s.app.request('/', { headers: { cookie: forged } })).status).toBe(303);
    // A form posted from another site (CSRF) is refused, even with the cookie.
    const foreign = await post(
      '/reviews/all/2024-03/todos',
      { title: 'x' },
      { origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    const fromQuery = await s.app.request('/insights?token=' + ADMIN_TOKEN);
    expect(fromQuery.status).toBe(303);
    expect(fromQuery.headers.get('location')).toBe('/insights');
  });

  it('lets the JSON API use the session too, with the same CSRF rule for forms', async () => {
    expect((await get('/api/reviews')).status).toBe(200);
    const foreign = await s.app.request('/api/todos', {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ product: 'all', month: '2024-03', title: 'x' }),
    });
    expect(foreign.status).toBe(403);
  });
});

describe('the review workflow', () => {
  it('grid → build → read → decide → to-dos → next month shows how the metrics moved', async () => {
    const grid = await (await get('/')).text();
    expect(grid).toContain('data-cell="2024-04|all"');
    expect(grid).toContain('action="/reviews/all/2024-03/build"');
    // The schedule is off by default, and the grid says how to switch it on.
    expect(grid).toMatch(/id="schedule">\s*Reviews are built when someone asks/);

    const built = await post('/reviews/all/2024-03/build', {});
    expect(built.status).toBe(303);
    expect(built.headers.get('location')).toBe('/reviews/all/2024-03?flash=built');
    let page = await (await get('/reviews/all/2024-03?flash=built')).text();
    expect(page).toContain('The company · 2024-03');
    expect(page).toContain('The review was built');
    // Paying customers in March: 2, linked to who they are.
    expect(page).toContain('href="/reviews/all/2024-03/drill?metric=paying_customers&amp;month=2024-03"');

    const hostile = '<script>alert(1)</script> grow mrr';
    const decided = await post('/reviews/all/2024-03/decision', {
      outcome: 'reprioritize',
      note: hostile,
      metrics: '',
    });
    expect(decided.status).toBe(303);
    page = await (await get('/reviews/all/2024-03')).text();
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; grow mrr');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('follows up: MRR');

    expect(
      (
        await post('/reviews/all/2024-03/todos', {
          title: 'Call org-c',
          owner: '',
          metrics: 'paying_customers',
        })
      ).status,
    ).toBe(303);
    const [todo] = (await (await get('/api/todos?product=all&month=2024-03')).json()) as { id: number }[];
    // Several metrics picked in the page's list arrive as one field each: all are kept.
    const twoPicked = new URLSearchParams([
      ['title', 'Ship the fix'],
      ['owner', ''],
      ['metrics', 'mrr'],
      ['metrics', 'paying_customers'],
    ]);
    const added = await s.app.request('/reviews/all/2024-03/todos', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: twoPicked.toString(),
    });
    expect(added.status).toBe(303);
    const todos = (await (await get('/api/todos?product=all&month=2024-03')).json()) as {
      title: string;
      metricIds: string[];
    }[];
    expect(todos.find((t) => t.title === 'Ship the fix')?.metricIds).toEqual(['mrr', 'paying_customers']);
    expect(
      (
        await post(`/todos/${todo!.id}/owner`, { owner: 'Ann', back: '/reviews/all/2024-03#todos' })
      ).headers.get('location'),
    ).toBe('/reviews/all/2024-03#todos');
    await post(`/todos/${todo!.id}/done`, { back: '/reviews/all/2024-03#todos' });
    page = await (await get('/reviews/all/2024-03')).text();
    expect(page).toMatch(/class="done" data-todo="\d+"/);
    expect(page).toContain('value="Ann"');
    await post(`/todos/${todo!.id}/reopen`, { back: '//evil.example' });
    expect(
      (
        (await (await get('/api/todos?product=all&month=2024-03')).json()) as { id: number; status: string }[]
      ).find((t) => t.id === todo!.id),
    ).toMatchObject({ status: 'open' });

    await post('/reviews/all/2024-04/build', {});
    page = await (await get('/reviews/all/2024-04')).text();
    // March's decision with the metrics it named and how they moved to April: MRR $70 → $70.
    expect(page).toContain('data-month="2024-03"');
    expect(page).toMatch(/<td>MRR<\/td>\s*<td class="num">\$70.00<\/td>\s*<td class="num">\$70.00<\/td>/);
    expect(page).toContain('Call org-c');
  });

  it('shows a bad form as a page naming the field, and a missing review with a Build button', async () => {
    const bad = await post('/reviews/all/2024-03/decision', { outcome: 'panic' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('field &#39;outcome&#39;');
    const none = await get('/reviews/all/2023-01');
    expect(none.status).toBe(404);
    expect(await none.text()).toContain('action="/reviews/all/2023-01/build"');
    expect((await post('/reviews/nope/2024-03/build', {})).status).toBe(400);
  });

  it('serves the same document the renderer writes', async () => {
    const doc = await get('/reviews/all/2024-03/document');
    expect(doc.status).toBe(200);
    expect(await doc.text()).toBe(renderHtml((await loadReview(s.engine, 'all', '2024-03'))!));
  });

  it('drills from a metric cell to the customers and users behind it', async () => {
    const customers = await (
      await get('/reviews/all/2024-03/drill?metric=paying_customers&month=2024-03')
    ).text();
    expect(customers).toContain('Customers behind Paying customers, 2024-03');
    expect(customers.indexOf('k3')).toBeGreaterThan(0);
    expect(customers.indexOf('k3')).toBeLessThan(customers.indexOf('k1')); // $40 before $30
    const users = await (await get('/reviews/all/2024-03/drill?metric=active_users&month=2024-03')).text();
    expect(users).toMatch(/u1<\/td>[\s\S]*u2<\/td>/);
    expect((await get('/reviews/all/2024-03/drill?metric=activation_rate&month=2024-03')).status).toBe(404);
  });

  it('runs a retention query with a breakdown, and names the field of a bad one', async () => {
    const q = new URLSearchParams({
      kind: 'retention',
      dateTo: '2024-04-30',
      targetEvent: 'use',
      period: 'month',
      totalIntervals: '2',
      breakdown: 'plan',
      breakdownType: 'event',
      run: '1',
    });
    const page = await (await get('/insights?' + q.toString())).text();
    // pro: u2 in March, u3 in April; team: u1 in both — 2 each, so by value.
    expect(page).toMatch(/data-breakdown="pro">\s*pro[\s\S]*data-breakdown="team">\s*team/);
    expect(page).toMatch(
      /<td>2024-03-01<\/td>\s*<td class="num">1<\/td>\s*<td class="num" title="1 people">100.0%<\/td><td class="num" title="0 people">0.0%/,
    );
    const bad = await get(
      '/insights?' + new URLSearchParams({ kind: 'trends', events: 'use', math: 'sum', run: '1' }).toString(),
    );
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('field &#39;mathProperty&#39;');
  });

  it('sends every page with a script-free CSP and no scripts', async () => {
    for (const path of [
      '/',
      '/reviews/all/2024-03',
      '/insights',
      '/reviews/all/2024-03/drill?metric=mrr&month=2024-03',
    ]) {
      const res = await get(path);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      expect(await res.text(), path).not.toMatch(/<script/i);
    }
    const out = await post('/logout', {});
    expect(out.headers.get('set-cookie')).toMatch(/sextant_admin=;/);
  });
});
