import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { metricId, parseMetricArg } from './metric.js';
import { addLaunch, listLaunches, removeLaunch } from './store.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const config = parseConfig({
  products: [{ name: 'analytics', events: ['insight *'] }],
  launches: [
    { title: 'Dark mode', date: '2024-05-20', product: 'analytics', metrics: ['insight viewed'] },
    {
      title: 'Templates',
      date: '2024-03-02',
      flag: 'templates',
      metrics: [{ event: 'insight created', type: 'count' }],
    },
  ],
});

describe('launches', () => {
  it('merges configured and stored launches, oldest first, and filters by product and month', async () => {
    e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    const id = await addLaunch(e, {
      title: 'Faster queries',
      date: '2024-05-20',
      product: 'analytics',
      flag: undefined,
      metrics: [parseMetricArg('query run:count')],
      unit: 'person',
      control: undefined,
      windowDays: 14,
    });
    const all = await listLaunches(e, config);
    expect(all.map((l) => [l.date, l.title, l.source, l.id])).toEqual([
      ['2024-03-02', 'Templates', 'config', null],
      ['2024-05-20', 'Dark mode', 'config', null], // same day: configured before stored
      ['2024-05-20', 'Faster queries', 'store', id],
    ]);
    expect(all[0]).toMatchObject({ product: 'all', unit: 'person', windowDays: 14, control: null });
    expect(all[1]!.metrics).toEqual([{ event: 'insight viewed', type: 'conversion', properties: [] }]);
    expect(all[2]!.metrics.map(metricId)).toEqual(['count:query run']);
    // June's review shows March–June; May's shows February–May; February's none of them.
    expect((await listLaunches(e, config, { month: '2024-06', monthsBefore: 3 })).length).toBe(3);
    expect((await listLaunches(e, config, { month: '2024-06', monthsBefore: 0 })).length).toBe(0);
    expect(
      (await listLaunches(e, config, { month: '2024-03', monthsBefore: 0 })).map((l) => l.title),
    ).toEqual(['Templates']);
    expect((await listLaunches(e, config, { product: 'analytics' })).length).toBe(2);
    await removeLaunch(e, id);
    expect((await listLaunches(e, config)).length).toBe(2);
    await expect(removeLaunch(e, id)).rejects.toThrow(/field 'ID': no stored launch with id/);
  });

  it('validates configured launches, naming the key', () => {
    expect(() => parseConfig({ launches: [{ title: 'x', date: '2024-02-30' }] })).toThrow(
      /field 'launches.0.date': not a calendar date/,
    );
    expect(() => parseConfig({ launches: [{ title: 'x', date: '2024-02-03', product: 'replay' }] })).toThrow(
      /field 'launches.0.product': unknown product 'replay'/,
    );
    expect(() =>
      parseConfig({ launches: [{ title: 'x', date: '2024-02-03', metrics: [{ event: 'a', type: 'sum' }] }] }),
    ).toThrow(/launches.0.metrics.0.property/);
  });

  it('reads --metric as EVENT, EVENT:TYPE or EVENT:sum:PROPERTY', () => {
    expect(parseMetricArg('signed up')).toMatchObject({ event: 'signed up', type: 'conversion' });
    expect(parseMetricArg('api:call:count')).toMatchObject({ event: 'api:call', type: 'count' });
    expect(parseMetricArg('checkout:sum:amount')).toMatchObject({
      event: 'checkout',
      type: 'sum',
      property: 'amount',
    });
    expect(parseMetricArg('a:b')).toMatchObject({ event: 'a:b', type: 'conversion' });
    expect(() => parseMetricArg('checkout:sum')).toThrow(/field '--metric'.*needs the property/);
  });
});
