import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { PostHog } from 'posthog-node';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { createApp } from '../../src/server/app.js';
import { PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

const FIXTURES = new URL('../fixtures/real/posthog-payloads/', import.meta.url);

interface DumpedRequest {
  path: string;
  method: string;
  content_type: string;
  body: string;
  output: { uuid: string; token: string }[];
}

function dumpedRequests(): DumpedRequest[] {
  return readFileSync(new URL('requests_dump.jsonl', FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('###'))
    .map((l) => JSON.parse(l) as DumpedRequest);
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('capture API', () => {
  it('stores what the real posthog-node SDK sends, with identity and groups resolved', async () => {
    server = await startTestServer();
    const url = await server.listen();
    const client = new PostHog(PROJECT_KEY, { host: url, flushAt: 1, flushInterval: 0 });
    client.capture({ distinctId: 'anon-1', event: 'report viewed', groups: { organization: 'acme' } });
    client.identify({
      distinctId: 'user-1',
      properties: { email: 'ada@acme.test', $anon_distinct_id: 'anon-1' },
    });
    client.groupIdentify({
      groupType: 'organization',
      groupKey: 'acme',
      properties: { name: 'Acme', employees: 50 },
    });
    client.capture({ distinctId: 'user-1', event: 'report exported', groups: { organization: 'acme' } });
    await client.shutdown();

    await server.capture.settle();
    const events = await server.engine.query<{
      event: string;
      distinct_id: string;
      person_id: string;
      organization: string | null;
      source: string;
    }>(sql`SELECT event, distinct_id, person_id, organization, source FROM events ORDER BY timestamp, event`);
    expect(events.map((e) => e.event).sort()).toEqual([
      '$groupidentify',
      '$identify',
      'report exported',
      'report viewed',
    ]);
    // anon-1 was merged into user-1 by the $identify: both events belong to one person.
    const viewed = events.find((e) => e.event === 'report viewed')!;
    const exported = events.find((e) => e.event === 'report exported')!;
    expect(viewed.distinct_id).toBe('anon-1');
    expect(viewed.person_id).toBe(exported.person_id);
    expect(viewed.organization).toBe('acme');
    expect(events.every((e) => e.source.startsWith('capture:/batch'))).toBe(true);
    const [person] = await server.engine.query<{ email: string }>(
      sql`SELECT properties->>'email' AS email FROM persons WHERE person_id = ${exported.person_id}`,
    );
    expect(person?.email).toBe('ada@acme.test');
    const [group] = await server.engine.query<{ name: string; employees: number }>(
      sql`SELECT properties->>'name' AS name, (properties->>'employees')::INT AS employees
          FROM groups WHERE group_type = 'organization' AND group_key = 'acme'`,
    );
    expect(group).toEqual({ name: 'Acme', employees: 50 });
  });

  it('accepts every real request of PostHog capture tests and stores their events', async () => {
    server = await startTestServer();
    const requests = dumpedRequests();
    expect(requests).toHaveLength(16);
    // The dump holds three projects' tokens; one app per token, all on the same store, queue and log.
    const apps = new Map<string, ReturnType<typeof createApp>>();
    for (const r of requests) {
      const token = r.output[0]!.token;
      if (!apps.has(token)) {
        apps.set(
          token,
          createApp({
            engine: server.engine,
            config: server.config,
            projectKey: token,
            adminToken: 'x',
            queue: server.queue,
            capture: server.capture,
          }),
        );
      }
    }
    for (const r of requests) {
      const app = apps.get(r.output[0]!.token)!;
      const res = await app.request(r.path, {
        method: r.method,
        headers: { 'content-type': r.content_type },
        body: Buffer.from(r.body, 'base64'),
      });
      expect(res.status, `${r.path}: ${await res.clone().text()}`).toBe(200);
    }
    const decoded = readFileSync(new URL('decoded_events.jsonl', FIXTURES), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { uuid: string; timestamp: string });
    await server.capture.settle();
    const stored = await server.engine.query<{ uuid: string; ts: string }>(
      sql`SELECT uuid, strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts FROM events ORDER BY uuid`,
    );
    const expected = [...new Set(decoded.map((e) => e.uuid))].sort();
    // The two "mismatch" requests repeat earlier events: deduped on uuid, nothing stored twice.
    expect(stored.map((s) => s.uuid)).toEqual(expected);
    // Timestamps agree with PostHog's decoding; `offset` events are timed from the `_` send time
    // PostHog's `now` was at most a few milliseconds after.
    const byUuid = new Map(stored.map((s) => [s.uuid, Date.parse(s.ts)]));
    for (const e of decoded) {
      expect(Math.abs(byUuid.get(e.uuid)! - Date.parse(e.timestamp))).toBeLessThan(1000);
    }
  });

  it('answers concurrent requests each for its own events, loaded in few imports', async () => {
    server = await startTestServer();
    const s = server;
    const batches: Record<string, unknown>[][] = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) => ({
        uuid: `b${b}-e${i}`,
        event: 'clicked',
        distinct_id: `user-${i}`,
        timestamp: '2024-02-01T00:00:00Z',
      })),
    );
    delete batches[7]![2]!.event; // one bad event, in the middle of a request in the middle of the rush
    const sent = await Promise.all(
      batches.map(async (batch) =>
        s.app.request('/batch/', { method: 'POST', body: JSON.stringify({ api_key: PROJECT_KEY, batch }) }),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, b) => (b === 7 ? 400 : 200)));
    const bad = (await sent[7]!.json()) as { rejected: { index: number; field: string }[] };
    expect(bad.rejected).toEqual([{ index: 2, field: 'event', reason: 'missing' }]);
    // 20 batches × 5 events, distinct uuids, one rejected: 99 stored; 5 users → 5 persons.
    await server.capture.settle();
    const [n] = await s.engine.query<{ events: number; persons: number; imports: number }>(
      sql`SELECT count(*)::INT AS events, count(DISTINCT person_id)::INT AS persons,
                 (SELECT count(*) FROM imports WHERE source LIKE 'capture:%')::INT AS imports
          FROM events`,
    );
    expect(n).toMatchObject({ events: 99, persons: 5 });
    // The loader takes what arrived while it was busy as one batch: far fewer imports than requests.
    expect(n!.imports).toBeLessThan(20);
  });

  it('answers 401 to a wrong or missing api key and stores nothing', async () => {
    server = await startTestServer();
    const event = { event: 'x', distinct_id: 'd', timestamp: '2024-01-01T00:00:00Z' };
    const wrong = await server.app.request('/batch/', {
      method: 'POST',
      body: JSON.stringify({ api_key: 'phc_wrong', batch: [event] }),
    });
    expect(wrong.status).toBe(401);
    const missing = await server.app.request('/e/', { method: 'POST', body: JSON.stringify(event) });
    expect(missing.status).toBe(401);
    await server.capture.settle();
    const [n] = await server.engine.query<{ n: number }>(sql`SELECT count(*)::INT AS n FROM events`);
    expect(n?.n).toBe(0);
  });

  it('reads gzip by magic bytes, form and bare base64 bodies, and the key from the query', async () => {
    server = await startTestServer();
    const at = '2024-03-01T12:00:00.000Z';
    const json = (uuid: string): string =>
      JSON.stringify([
        { uuid, event: 'e', properties: { distinct_id: 'p1', token: PROJECT_KEY }, timestamp: at },
      ]);
    const sends: [string, RequestInit][] = [
      // gzip with a query claiming nothing and a JSON content type
      [
        '/i/v0/e/',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: gzipSync(json('u1')) },
      ],
      [
        '/e',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'data=' + encodeURIComponent(Buffer.from(json('u2')).toString('base64')),
        },
      ],
      ['/capture/', { method: 'POST', body: Buffer.from(json('u3')).toString('base64') }],
      [
        `/track?api_key=${PROJECT_KEY}`,
        {
          method: 'POST',
          body: JSON.stringify({ uuid: 'u4', event: 'e', distinct_id: 'p1', offset: 500, sent_at: at }),
        },
      ],
    ];
    for (const [path, init] of sends) {
      const res = await server.app.request(path, init);
      expect(res.status, path).toBe(200);
    }
    await server.capture.settle();
    const rows = await server.engine.query<{ uuid: string; ts: string }>(
      sql`SELECT uuid, strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts FROM events ORDER BY uuid`,
    );
    // u4: offset 500 ms before sent_at 12:00:00.000 → 11:59:59.500.
    expect(rows).toEqual([
      { uuid: 'u1', ts: at },
      { uuid: 'u2', ts: at },
      { uuid: 'u3', ts: at },
      { uuid: 'u4', ts: '2024-03-01T11:59:59.500Z' },
    ]);
  });

  it('lets posthog-js post from another origin: preflight and readable answers', async () => {
    server = await startTestServer();
    const origin = 'https://app.example.test';
    const pre = await server.app.request('/e/', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    const res = await server.app.request('/flags/?v=2', { method: 'POST', headers: { origin }, body: '{}' });
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    // The admin API is not cross-origin.
    const api = await server.app.request('/api/reviews', { headers: { origin } });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers /flags/ and /decide/ with no flags, and 400 naming the field of a bad event', async () => {
    server = await startTestServer();
    for (const p of ['/flags/?v=2', '/decide/', '/flags']) {
      const res = await server.app.request(p, { method: 'POST', body: '{}' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        featureFlags: {},
        featureFlagPayloads: {},
        errorsWhileComputingFlags: false,
        flags: {},
      });
    }
    const bad = await server.app.request('/batch/', {
      method: 'POST',
      body: JSON.stringify({
        api_key: PROJECT_KEY,
        batch: [
          { event: 'ok', distinct_id: 'a', timestamp: '2024-01-01T00:00:00Z' },
          { distinct_id: 'a', timestamp: '2024-01-01T00:00:00Z' },
        ],
      }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string };
    expect(body.error).toContain('batch[1]');
    expect(body.error).toContain("'event'");
    const notJson = await server.app.request('/e/', { method: 'POST', body: '{not json' });
    expect(notJson.status).toBe(400);
  });
});
