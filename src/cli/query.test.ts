import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSextant } from '../../test/helpers/cli.js';
import { insertEvents } from '../../test/helpers/insight-events.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';

// The built CLI end to end: `node bin/sextant.js query <kind> --spec … --db <file>` (`npm run build`
// first; `npm test` does. Not rebuilt here: a build rewriting dist/ races with the other test files
// that spawn the CLI at the same time).
const dir = mkdtempSync(join(tmpdir(), 'sextant-query-'));
const db = join(dir, 'q.duckdb');

/** Runs the CLI as a child process without blocking the worker (a blocked worker misses vitest's heartbeats). */
async function sextant(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runSextant([...args, '--db', db]);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  const e = await DuckDbEngine.open(db);
  await e.migrate();
  await insertEvents(e, [
    { event: 'signup', person: 'p1', distinctId: 'anon-1', at: '2024-01-01T10:00:00', org: 'o1' },
    { event: 'use', person: 'p1', at: '2024-01-01T10:30:00', org: 'o1' },
    { event: 'use', person: 'p1', at: '2024-01-02T10:00:00', org: 'o1' },
    { event: 'signup', person: 'p2', at: '2024-01-02T09:00:00' },
    flagCalled('p1', '2024-01-01T09:00:00', 'control'),
    flagCalled('p2', '2024-01-02T08:00:00', 'test'),
  ]);
  await e.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const range = { dateFrom: '2024-01-01', dateTo: '2024-01-02' };

function flagCalled(person: string, at: string, variant: string) {
  return {
    event: '$feature_flag_called',
    person,
    at,
    props: { $feature_flag: 'new-home', $feature_flag_response: variant },
  };
}

describe('sextant query', () => {
  it('funnel', async () => {
    const r = await sextant(
      'query',
      'funnel',
      '--spec',
      JSON.stringify({ ...range, steps: ['signup', 'use'] }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      steps: { name: string; count: number; medianSecondsFromPrevious: number | null }[];
    };
    // p1, p2 signed up; p1 used it 30 min later (across two distinct_ids)
    expect(out.steps.map((s) => [s.name, s.count, s.medianSecondsFromPrevious])).toEqual([
      ['signup', 2, null],
      ['use', 1, 1800],
    ]);
  });

  it('retention, from a spec file', async () => {
    const file = join(dir, 'retention.json');
    writeFileSync(
      file,
      JSON.stringify({
        dateTo: '2024-01-02',
        targetEvent: 'signup',
        returningEvent: 'use',
        totalIntervals: 2,
      }),
    );
    const r = await sextant('query', 'retention', '--spec', file);
    expect(r.code).toBe(0);
    // 1st: p1 signed up and came back on the 2nd; 2nd: p2
    expect(JSON.parse(r.stdout)).toEqual({
      cohorts: [
        { date: '2024-01-01', size: 1, values: [1, 1] },
        { date: '2024-01-02', size: 1, values: [1] },
      ],
    });
  });

  it('lifecycle, stickiness and trends', async () => {
    const lifecycle = await sextant(
      'query',
      'lifecycle',
      '--spec',
      JSON.stringify({ ...range, event: 'use' }),
    );
    expect(JSON.parse(lifecycle.stdout)).toEqual({
      intervals: [
        { date: '2024-01-01', new: 1, returning: 0, resurrecting: 0, dormant: 0 }, // p1 created on the 1st
        { date: '2024-01-02', new: 0, returning: 1, resurrecting: 0, dormant: 0 },
      ],
    });
    const sticky = await sextant('query', 'stickiness', '--spec', JSON.stringify({ ...range, event: 'use' }));
    expect(JSON.parse(sticky.stdout)).toEqual({
      counts: [
        { days: 1, persons: 0 },
        { days: 2, persons: 1 },
      ],
    });
    const trends = await sextant(
      'query',
      'trends',
      '--spec',
      JSON.stringify({ ...range, events: ['signup'], math: 'unique_group' }),
    );
    expect(JSON.parse(trends.stdout)).toEqual({
      series: [
        {
          event: 'signup',
          points: [
            { date: '2024-01-01', value: 1 },
            { date: '2024-01-02', value: 0 },
          ],
        },
      ], // p2 has no org
    });
  });

  it('experiment', async () => {
    const r = await sextant(
      'query',
      'experiment',
      '--spec',
      JSON.stringify({ ...range, flag: 'new-home', metric: { event: 'use', type: 'count' }, minUnits: 1 }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      variants: { key: string; exposed: number; value: number; lift: number | null }[];
      srm: { pValue: number; flagged: boolean };
      excluded: number;
    };
    // p1 (control) used it twice after its exposure at 09:00 on the 1st; p2 (test) never.
    expect(out.variants.map((v) => [v.key, v.exposed, v.value])).toEqual([
      ['control', 1, 2],
      ['test', 1, 0],
    ]);
    expect(out.srm).toMatchObject({ pValue: 1, flagged: false });
    expect(out.excluded).toBe(0);
    const bad = await sextant(
      'query',
      'experiment',
      '--spec',
      JSON.stringify({ ...range, flag: 'x', metric: {} }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/field 'metric.event'/);
  });

  it('rejects an invalid spec with exit 2 and one line naming the field', async () => {
    const unknown = await sextant(
      'query',
      'funnel',
      '--spec',
      JSON.stringify({ ...range, steps: ['a'], colour: 'red' }),
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("sextant: field 'colour': unknown key 'colour'\n");
    const bad = await sextant(
      'query',
      'retention',
      '--spec',
      JSON.stringify({ dateTo: '2024-01-02', targetEvent: 'a', totalIntervals: 0 }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/field 'totalIntervals'/);
    const kind = await sextant('query', 'paths', '--spec', '{}');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/field 'kind'/);
    const json = await sextant('query', 'trends', '--spec', '{not json');
    expect(json.code).toBe(2);
  });
});
