import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Metric } from '../domain/review.js';
import { currentLine, customer, invoice, price } from '../../test/helpers/stripe-fixtures.js';
import { run } from './program.js';

describe('sextant import stripe and sextant metrics', () => {
  it('keeps good records, names the bad one (exit 2), and prints the revenue metrics as SPEC §5 JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-stripe-'));
    const db = join(dir, 'store', 'sextant.duckdb');
    const p = price('p1', 'prod_1', 2500, 'month');
    const good = [
      p,
      customer('cus_1'),
      invoice('in_1', 'cus_1', '2024-01-01', [
        currentLine({
          id: 'il_1',
          amount: 2500,
          price: p,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 'sub_1',
        }),
      ]),
      invoice('in_2', 'cus_1', '2024-02-01', [
        currentLine({
          id: 'il_2',
          amount: 2500,
          price: p,
          start: '2024-02-01',
          end: '2024-03-01',
          subscription: 'sub_1',
        }),
      ]),
    ];
    const file = join(dir, 'billing.jsonl');
    writeFileSync(
      file,
      [
        ...good.map((o) => JSON.stringify(o)),
        '{"object": "invoice", "id": "in_bad", "customer": "cus_1", "lines": {"data": [{"id": "il_x", "amount": "12"}]}}',
        '{"object": "customer", "id": "cus_trunc"',
        JSON.stringify({ object: 'charge', id: 'ch_1' }),
      ].join('\n') + '\n',
    );
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let json = '';
    try {
      expect(await run(['--db', db, 'import', 'stripe', file])).toBe(2);
      const last = String(err.mock.calls.at(-1)?.[0]);
      // The first bad record: line 5, the invoice whose line amount is a string.
      expect(last).toMatch(
        /billing\.jsonl:5, field 'lines\.amount': invoice in_bad: expected an amount in minor units, got '12' \(2 bad records in all; written to .*rejects/,
      );
      expect(String(out.mock.calls.at(-1)?.[0])).toContain(
        '7 records: 4 new, 0 updated, 0 duplicates, 1 skipped (1 charge), 2 rejected',
      );
      out.mockClear();
      expect(await run(['--db', db, '--json', 'metrics', '--month', '2024-02', '--months', '2'])).toBe(0);
      json = out.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    const rejects = readdirSync(join(dir, 'store', 'rejects'));
    expect(rejects).toEqual([expect.stringMatching(/^billing\.jsonl\.\d{8}T\d{6}Z\.rejects$/)]);
    expect(
      readFileSync(join(dir, 'store', 'rejects', rejects[0]!), 'utf8')
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(2);
    const metrics = JSON.parse(json) as Metric[];
    const mrr = metrics.find((m) => m.id === 'mrr');
    // $25 at both month-ends: current 25, previous 25, change (25 − 25) / 25 = 0.
    expect(mrr).toMatchObject({
      group: 'revenue',
      unit: 'currency',
      series: [
        { month: '2024-01', value: 25 },
        { month: '2024-02', value: 25 },
      ],
      current: 25,
      previous: 25,
      change: 0,
    });
    expect(metrics.find((m) => m.id === 'new_mrr')?.series.map((p) => p.value)).toEqual([25, 0]);
  });
});
