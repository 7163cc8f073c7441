import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { lifecycle } from './lifecycle.js';
import { engineWith } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

describe('lifecycle', () => {
  it('splits people into new, returning, resurrecting and dormant (negative) per interval', async () => {
    e = await engineWith([
      { event: 'signup', person: 'p1', at: '2024-01-01T09:00:00' }, // p1 created on the 1st
      { event: 'use', person: 'p1', at: '2024-01-01T10:00:00' },
      { event: 'use', person: 'p1', at: '2024-01-02T10:00:00' },
      { event: 'use', person: 'p1', at: '2024-01-04T10:00:00' },
      { event: 'use', person: 'p2', at: '2024-01-02T00:00:00' }, // p2 created on the 2nd
      { event: 'use', person: 'p2', at: '2024-01-03T23:59:59' },
      { event: 'pageview', person: 'p3', at: '2023-12-01T10:00:00' }, // p3 created long before
      { event: 'use', person: 'p3', distinctId: 'p3-other-id', at: '2024-01-03T10:00:00' },
      { event: 'use', person: 'p4', at: '2024-01-04T10:00:00' },
      { event: 'use', person: 'p5', at: '2024-01-01T10:00:00' }, // only before the range
    ]);
    const r = await lifecycle(e, { dateFrom: '2024-01-02', dateTo: '2024-01-04', event: 'use' });
    expect(r.intervals).toEqual([
      // 2nd: p2 new; p1 returning (active on the 1st); p5 dormant
      { date: '2024-01-02', new: 1, returning: 1, resurrecting: 0, dormant: -1 },
      // 3rd: p2 returning; p3 resurrecting (created in December); p1 dormant
      { date: '2024-01-03', new: 0, returning: 1, resurrecting: 1, dormant: -1 },
      // 4th: p4 new; p1 resurrecting; p2, p3 dormant
      { date: '2024-01-04', new: 1, returning: 0, resurrecting: 1, dormant: -2 },
    ]);
  });

  it('works in weeks and lists empty intervals with zeros', async () => {
    e = await engineWith([
      { event: 'use', person: 'p1', at: '2024-01-01T10:00:00' }, // Monday, week of Sun Dec 31
      { event: 'use', person: 'p1', at: '2024-01-20T10:00:00' }, // Saturday, week of Sun 14th
    ]);
    const r = await lifecycle(e, {
      dateFrom: '2024-01-01',
      dateTo: '2024-01-20',
      event: 'use',
      interval: 'week',
    });
    expect(r.intervals).toEqual([
      { date: '2023-12-31', new: 1, returning: 0, resurrecting: 0, dormant: 0 },
      { date: '2024-01-07', new: 0, returning: 0, resurrecting: 0, dormant: -1 },
      { date: '2024-01-14', new: 0, returning: 0, resurrecting: 1, dormant: 0 },
    ]);
  });
});
