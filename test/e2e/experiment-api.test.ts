import { PostHog } from 'posthog-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PROJECT_KEY, startTestServer, type TestServer } from './serve-harness.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('POST /api/query kind experiment', () => {
  it('judges an experiment captured through the real posthog-node SDK', async () => {
    server = await startTestServer();
    const url = await server.listen();
    const client = new PostHog(PROJECT_KEY, { host: url, flushAt: 50, flushInterval: 0 });
    // 120 people per arm; the SDK's own `$feature_flag_called` shape, as posthog-node sends it
    // after evaluating a flag, and `$feature/<flag>` on the events that follow.
    const base = Date.parse('2024-05-06T09:00:00Z');
    for (let i = 0; i < 240; i++) {
      const variant = i % 2 === 0 ? 'control' : 'test';
      const distinctId = `user-${i}`;
      const at = new Date(base + i * 60_000);
      client.capture({
        distinctId,
        event: '$feature_flag_called',
        properties: { $feature_flag: 'onboarding-v2', $feature_flag_response: variant },
        timestamp: at,
      });
      // control: every 4th converts (30 of 120); test: every other one (60 of 120).
      if ((variant === 'control' && i % 8 === 0) || (variant === 'test' && i % 4 === 1)) {
        client.capture({
          distinctId,
          event: 'project created',
          properties: { '$feature/onboarding-v2': variant },
          timestamp: new Date(at.getTime() + 3_600_000),
        });
      }
    }
    await client.shutdown();
    await server.capture.settle();
    const res = await server.app.request('/api/query', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'experiment',
        flag: 'onboarding-v2',
        dateFrom: '2024-05-06',
        dateTo: '2024-05-06',
        metric: { event: 'project created', type: 'conversion' },
      }),
    });
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      variants: { key: string; exposed: number; value: number; lift: number; pValue: number }[];
      srm: { pValue: number; flagged: boolean };
      excluded: number;
    };
    expect(r.variants.map((v) => [v.key, v.exposed, v.value])).toEqual([
      ['control', 120, 0.25],
      ['test', 120, 0.5],
    ]);
    expect(r.variants[1]!.lift).toBeCloseTo(1, 12);
    expect(r.variants[1]!.pValue).toBeLessThan(0.001);
    expect(r.srm).toEqual({ pValue: 1, flagged: false, statistic: 0, expected: [120, 120] });
    expect(r.excluded).toBe(0);

    const bad = await server.app.request('/api/query', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'experiment',
        flag: 'onboarding-v2',
        dateFrom: '2024-05-06',
        dateTo: '2024-05-06',
        metric: { event: 'x', type: 'ratio' },
      }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("field 'metric.type'");
  });
});
