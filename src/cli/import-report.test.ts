import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ImportReport } from '../ingest/report.js';
import { runCaptured } from '../../test/helpers/cli-in-process.js';

const REAL = new URL('../../test/fixtures/real/', import.meta.url).pathname;

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const r = await runCaptured(argv);
  return { ...r, err: r.err.split('\n').filter(Boolean) };
}

/**
 * Real NHS FFT comments (test/fixtures/real/nhs-fft-feedback) as feedback, `created_at` left as
 * the source writes it (d/m/Y and m/d/Y), each record repeated `times` with its own id: the
 * shape of a real export that needs `--date-format`.
 */
function fftFeedback(times: number): { csv: string; records: number } {
  const [head, ...body] = parse<string[]>(
    readFileSync(join(REAL, 'nhs-fft-feedback/fft-subset.csv'), 'utf8'),
    {
      bom: true,
    },
  );
  const col = (name: string): number => head!.indexOf(name);
  const q = (s: string): string => '"' + s.replaceAll('"', '""') + '"';
  const out = ['id,kind,created_at,organization,body'];
  for (let k = 0; k < times; k++) {
    for (const r of body) {
      out.push(
        [
          q(`${r[col('Comment ID')]}#${k}`),
          'ticket',
          r[col('Date')],
          q(r[col('Trust')]!),
          q(r[col('FFT answer')]!),
        ].join(','),
      );
    }
  }
  return { csv: out.join('\n') + '\n', records: body.length * times };
}

describe('what sextant import prints', () => {
  it('summarises thousands of bad records (counts per reason, the first few), not one line each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-summary-'));
    const db = join(dir, 'sextant.duckdb');
    const { csv, records } = fftFeedback(200);
    expect(records).toBe(5200);
    const file = join(dir, 'fft.csv');
    writeFileSync(file, csv);
    const r = await capture(['--db', db, 'import', 'feedback', file]);
    expect(r.code).toBe(2);
    // The summary line, one line for the single reason, 5 records, the "more" line, the error.
    expect(r.err.length).toBeLessThanOrEqual(12);
    expect(r.err[0]).toMatch(
      /fft\.csv: 5,200 of 5,200 records rejected, all written to .*rejects\/fft\.csv\.\d{8}T\d{6}Z\.rejects:$/,
    );
    expect(r.err[1]).toMatch(/^\s+5,200 × field 'created_at': not an ISO 8601 date \(first: line 2\)$/);
    expect(r.err.filter((l) => /^\s{4}.*fft\.csv:\d+, field 'created_at'/.test(l))).toHaveLength(5);
    expect(r.err).toContain('    … and 5,195 more (--verbose prints every one)');
    expect(r.err.at(-1)).toMatch(
      /^sextant: .*fft\.csv:2, field 'created_at': not an ISO 8601 date: '\d+\/\d+\/\d{4}' \(5,200 bad records in all; written to /,
    );
    const rejects = readdirSync(join(dir, 'rejects'));
    // The header, then every bad record verbatim (some answers span lines): it re-imports once fixed.
    expect(parse(readFileSync(join(dir, 'rejects', rejects[0]!)), { bom: true })).toHaveLength(1 + 5200);

    // Named, the day-first format imports the d/m/Y comments; the m/d/Y ones (e.g. 10/17/2021)
    // are counted under their own reason.
    const dmy = await capture(['--db', db, 'import', 'feedback', '--date-format', 'DD/MM/YYYY', file]);
    expect(dmy.code).toBe(2);
    const stored = Number(/: 5,200 records: ([\d,]+) new/.exec(dmy.out)?.[1]?.replace(',', ''));
    const rejected = Number(/([\d,]+) rejected\n$/.exec(dmy.out)?.[1]?.replace(',', ''));
    expect(stored + rejected).toBe(5200);
    expect(stored).toBeGreaterThan(0);
    expect(dmy.err[1]).toMatch(/^\s+[\d,]+ × field 'created_at': not a calendar date \(first: line \d+\)$/);
  });

  it('recognises a file of the wrong kind for every import subcommand, and names the right one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-kind-'));
    const db = join(dir, 'sextant.duckdb');
    const stripe = join(REAL, 'stripe-fixtures/dj-stripe/customer_cus_6lsBvm5rJ0zyHc.json');
    const events = join(REAL, 'posthog-payloads/decoded_events.jsonl');
    const nhs = join(dir, 'nhs.csv');
    copyFileSync(join(REAL, 'nhs-fft-feedback/fft-subset.csv'), nhs);
    const subs = join(dir, 'subs.csv');
    writeFileSync(
      subs,
      'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status\nk1,,Team,p,usd,1000,month,1,1,2024-01-01,,active\n',
    );
    const feedback = join(dir, 'feedback.txt');
    writeFileSync(feedback, 'id,kind,created_at\nf1,ticket,2024-01-01\n');
    const cases: [string[], RegExp][] = [
      [
        ['import', 'events', stripe],
        /this looks like a Stripe export .*, not PostHog events: use `sextant import stripe`/,
      ],
      [
        ['import', 'events', nhs],
        /this is a CSV file \(columns comment id, trust, respondent id, date, service type 1, service type 2, …\), not PostHog events: is it for `sextant import subscriptions` or `sextant import feedback`\?/,
      ],
      [
        ['import', 'events', subs],
        /this looks like a subscription CSV, not PostHog events: use `sextant import subscriptions`/,
      ],
      [
        ['import', 'stripe', events],
        /this looks like PostHog events .*, not Stripe objects: use `sextant import events`/,
      ],
      [
        ['import', 'stripe', subs],
        /this looks like a subscription CSV, not Stripe objects: use `sextant import subscriptions`/,
      ],
      [
        ['import', 'subscriptions', stripe],
        /this looks like a Stripe export .*, not a subscription CSV: use `sextant import stripe`/,
      ],
      [
        ['import', 'subscriptions', nhs],
        /this is a CSV file .*, not a subscription CSV: a subscription CSV needs the columns customer_id,/,
      ],
      [
        ['import', 'feedback', events],
        /this looks like PostHog events .*, not feedback: use `sextant import events`/,
      ],
      [
        ['import', 'feedback', subs],
        /this looks like a subscription CSV, not feedback: use `sextant import subscriptions`/,
      ],
      [
        ['import', 'subscriptions', feedback],
        /this looks like a feedback CSV, not a subscription CSV: use `sextant import feedback`/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await capture(['--db', db, ...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toHaveLength(1);
      expect(r.err[0], argv.join(' ')).toMatch(message);
    }
    // A feedback CSV read by content, whatever its name.
    const ok = await capture(['--db', db, 'import', 'feedback', feedback]);
    expect([ok.code, ok.out]).toEqual([
      0,
      `${feedback}: 1 record: 1 new, 0 updated, 0 duplicates, 0 rejected\n`,
    ]);
  });

  it('warns that Stripe subscriptions without invoices have no revenue history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-history-'));
    const db = join(dir, 'sextant.duckdb');
    const r = await capture([
      '--db',
      db,
      'import',
      'stripe',
      join(REAL, 'stripe-fixtures/subscription.json'),
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([
      expect.stringMatching(
        /subscription\.json: warning: no revenue history: 1 subscription has no invoices or subscription events in the store \(e\.g\. sub_\w+\); export invoices too/,
      ) as string,
    ]);
    const json = await capture([
      '--db',
      db,
      '--json',
      'import',
      'stripe',
      join(REAL, 'stripe-fixtures/subscription.json'),
    ]);
    const [report] = JSON.parse(json.out) as ImportReport[];
    expect(report?.warnings?.[0]).toMatch(/^no revenue history/);
    // With its invoices imported too, the warning is gone.
    const invoices = join(dir, 'invoice.json');
    const sub = JSON.parse(readFileSync(join(REAL, 'stripe-fixtures/subscription.json'), 'utf8')) as {
      id: string;
      customer: string;
    };
    writeFileSync(
      invoices,
      JSON.stringify({
        object: 'invoice',
        id: 'in_x',
        customer: sub.customer,
        subscription: sub.id,
        currency: 'usd',
        status: 'paid',
        created: 1700000000,
        lines: { data: [] },
      }),
    );
    expect((await capture(['--db', db, 'import', 'stripe', invoices])).code).toBe(0);
    const again = await capture([
      '--db',
      db,
      'import',
      'stripe',
      join(REAL, 'stripe-fixtures/subscription.json'),
    ]);
    expect(again.err).toEqual([]);
  });
});
