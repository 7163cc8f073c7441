import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { stickiness } from './stickiness.js';
import { engineWith } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

describe('stickiness', () => {
  it('counts people by the number of intervals they were active in', async () => {
    e = await engineWith([
      { event: 'use', person: 'p1', at: '2024-01-01T10:00:00' },
      { event: 'use', person: 'p1', at: '2024-01-01T11:00:00' }, // same day: still one
      { event: 'use', person: 'p1', at: '2024-01-02T10:00:00' },
      { event: 'use', person: 'p2', at: '2024-01-01T10:00:00' },
      { event: 'use', person: 'p2', at: '2024-01-03T10:00:00' },
      { event: 'use', person: 'p2', at: '2024-01-05T23:59:59' }, // last second of dateTo
      { event: 'use', person: 'p3', at: '2024-01-04T10:00:00' },
      { event: 'use', person: 'p4', at: '2024-01-06T00:00:00' }, // after the range
      { event: 'use', person: 'P', distinctId: 'anon', at: '2024-01-01T10:00:00' },
      { event: 'use', person: 'P', distinctId: 'known', at: '2024-01-02T10:00:00' },
    ]);
    const r = await stickiness(e, { dateFrom: '2024-01-01', dateTo: '2024-01-05', event: 'use' });
    expect(r.counts).toEqual([
      { days: 1, persons: 1 }, // p3
      { days: 2, persons: 2 }, // p1, P (two distinct_ids, one person)
      { days: 3, persons: 1 }, // p2
      { days: 4, persons: 0 },
      { days: 5, persons: 0 },
    ]);
  });
});
