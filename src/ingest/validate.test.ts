import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { currentLine, customer, invoice, price, ts } from '../../test/helpers/stripe-fixtures.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { importFeedback } from './feedback/import.js';
import { ledgerBalances } from './report.js';
import { importStripeFile } from './stripe/import.js';
import { importSubscriptions } from './subscriptions/import.js';
import {
  check,
  currencyCode,
  integerText,
  invalidUtf8Lines,
  minorUnits,
  parseDate,
  parseDateFormat,
} from './validate.js';

async function store(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

function write(name: string, content: string | Buffer): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-validate-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return { file, dir };
}

const iso = (d: Date | string): string => (typeof d === 'string' ? d : d.toISOString());

describe('the validation layer', () => {
  it('accepts real calendar dates only, from 1970 to 2099, never rolling them over', () => {
    expect(iso(parseDate('2024-02-29'))).toBe('2024-02-29T00:00:00.000Z');
    expect(parseDate('2025-02-30')).toBe("not a calendar date: '2025-02-30'");
    expect(parseDate('2023-02-29')).toMatch(/not a calendar date/);
    expect(parseDate('2024-13-01')).toMatch(/not a calendar date/);
    expect(parseDate('2024-01-01T24:00:00Z')).toMatch(/not a time of day/);
    expect(parseDate('0001-01-01')).toMatch(/out of range.*1970 to 2099/);
    expect(parseDate('9999-12-31')).toMatch(/out of range/);
    expect(parseDate('1969-12-31T23:59:59Z')).toMatch(/out of range/);
    expect(iso(parseDate('1970-01-01T00:00:00Z'))).toBe('1970-01-01T00:00:00.000Z');
    // An offset that moves the instant out of range is out of range.
    expect(parseDate('2099-12-31T23:00:00-02:00')).toMatch(/out of range/);
    expect(iso(parseDate('2024-01-31T23:30:00-05:00'))).toBe('2024-02-01T04:30:00.000Z');
    expect(parseDate('2024-01-01T10:00:00+25:00')).toMatch(/time zone offset/);
    expect(parseDate('yesterday')).toBe("not an ISO 8601 date: 'yesterday'");
  });

  it('reads a named day/month/year format, one-digit parts included, and still checks the calendar', () => {
    const dmy = parseDateFormat('DD/MM/YYYY');
    const mdy = parseDateFormat('MM/DD/YYYY');
    expect(iso(parseDate('30/09/2021', dmy))).toBe('2021-09-30T00:00:00.000Z');
    expect(iso(parseDate('9/30/2022', mdy))).toBe('2022-09-30T00:00:00.000Z');
    expect(parseDate('9/30/2022', dmy)).toBe("not a calendar date: '9/30/2022'");
    expect(iso(parseDate('01.02.2024 13:45', parseDateFormat('DD.MM.YYYY')))).toBe(
      '2024-02-01T13:45:00.000Z',
    );
    expect(parseDate('2024-02-01', dmy)).toMatch(/not a date in the format DD\/MM\/YYYY/);
    expect(iso(parseDate('2024/02/01', parseDateFormat('YYYY/MM/DD')))).toBe('2024-02-01T00:00:00.000Z');
    expect(parseDateFormat(undefined)).toEqual({ kind: 'iso' });
    expect(parseDateFormat('iso')).toEqual({ kind: 'iso' });
    expect(() => parseDateFormat('DD/MM/YY')).toThrow(InputError);
    expect(() => parseDateFormat('MM/YYYY/DD')).toThrow(/--date-format.*unknown date format/);
  });

  it('bounds amounts and quantities well inside BIGINT, and names the value', () => {
    expect(check(minorUnits, 1_000_000_000_000, 'amount')).toBe(1_000_000_000_000);
    expect(() => check(minorUnits, 1_000_000_000_001, 'amount')).toThrow(/out of range/);
    expect(() => check(minorUnits, 1e30, 'amount')).toThrow(/out of range/);
    expect(() => check(minorUnits, 12.5, 'amount')).toThrow(/whole number/);
    expect(() => check(minorUnits, '12', 'amount')).toThrow("expected an amount in minor units, got '12'");
    const cell = integerText(-1e12, 1e12, 'an amount');
    expect(check(cell, ' -42 ', 'amount')).toBe(-42);
    // 20 digits: Number() would give a float that compares fine; the length check catches it.
    expect(() => check(cell, '99999999999999999999', 'amount')).toThrow(/out of range/);
    expect(() => check(cell, '1e5', 'amount')).toThrow(/an integer/);
    expect(check(currencyCode, ' eur ', 'currency')).toBe('EUR');
    expect(() => check(currencyCode, 'currency', 'currency')).toThrow(/three-letter/);
    expect(() => check(currencyCode, 'US$', 'currency')).toThrow(/three-letter/);
  });

  it('finds the lines that are not UTF-8', () => {
    const bytes = Buffer.concat([
      Buffer.from('ok\nbad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\nfine é\n'),
      Buffer.from([0xc3]),
    ]);
    expect([...invalidUtf8Lines(bytes)]).toEqual([2, 4]);
    expect(invalidUtf8Lines(Buffer.from('all fine ✓\n')).size).toBe(0);
  });
});

const SUBS_HEADER =
  'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status';

describe('validation in the importers: a bad value rejects its record, never the file', () => {
  it('subscription CSV: out-of-range amount, rolled date, bad currency, non-UTF-8 bytes', async () => {
    const e = await store();
    const bytes = Buffer.concat([
      Buffer.from(
        [
          SUBS_HEADER,
          'k1,,Team,p,usd,1000,month,1,1,2024-01-01,,active', // 2 good
          'k2,,Team,p,usd,99999999999999999999,month,1,1,2024-01-01,,active', // 3 amount
          'k3,,Team,p,usd,1000,month,1,1,2025-02-30,,active', // 4 start
          'k4,,Team,p,dollars,1000,month,1,1,2024-01-01,,active', // 5 currency
          'k5,,Team,p,usd,1000,month,1,-3,2024-01-01,,active', // 6 quantity
          'k6,,Team,p,usd,1000,fortnight,1,1,2024-01-01,,active', // 7 interval
          'k7,,Team,p,usd,1000,month,0,1,2024-01-01,,active', // 8 interval_count
          'k8,,Team,p,usd,1000,month,1,1,2024-03-01,2024-02-01,canceled', // 9 end before start
          'k9,,Team,p,usd,1000,month,1,1,2024-01-01,,active', // 10 good
          'k10,Caf',
        ].join('\n'),
      ),
      Buffer.from([0xe9]), // 11: Latin-1 é
      Buffer.from(',Team,p,usd,1000,month,1,1,2024-01-01,,active\n'),
    ]);
    const { file, dir } = write('subs.csv', bytes);
    const r = await importSubscriptions(e, file, { rejectsDir: dir });
    expect(ledgerBalances(r)).toBe(true);
    expect(r).toMatchObject({ records: 10, inserted: 2 });
    expect(r.rejected.map((x) => [x.line, x.field, x.reason])).toEqual([
      [3, 'amount', 'out of range: 99999999999999999999 (expected -1000000000000 to 1000000000000)'],
      [4, 'start', "not a calendar date: '2025-02-30'"],
      [5, 'currency', "expected a three-letter currency code, got 'dollars'"],
      [6, 'quantity', 'out of range: -3 (expected 0 to 1000000000)'],
      [7, 'interval', "expected day, week, month or year, got 'fortnight'"],
      [8, 'interval_count', 'out of range: 0 (expected 1 to 1000)'],
      [9, 'end', 'is before start'],
      [11, undefined, 'not valid UTF-8'],
    ]);
    // The rejects file: the header, then each bad row byte for byte (the Latin-1 byte kept).
    const rejects = readFileSync(r.rejectsFile!);
    expect(rejects.toString('latin1').split('\n')[0]).toBe(SUBS_HEADER);
    expect(rejects.includes(Buffer.from([0xe9]))).toBe(true);
    expect(rejects.toString('latin1').split('\n')).toHaveLength(10);
    const ids = await e.query<{ c: string }>(
      raw('SELECT customer_id AS c FROM billing_subscription_rows ORDER BY 1'),
    );
    expect(ids.map((x) => x.c)).toEqual(['k1', 'k9']);
    await e.close();
  });

  it('subscription CSV: --date-format reads DD/MM/YYYY', async () => {
    const e = await store();
    const { file } = write(
      'dmy.csv',
      [
        SUBS_HEADER,
        'k1,,Team,p,usd,1000,month,1,1,31/01/2024,29/02/2024,canceled',
        'k2,,Team,p,usd,1000,month,1,1,31/02/2024,,active',
      ].join('\n'),
    );
    const r = await importSubscriptions(e, file, { dateFormat: parseDateFormat('DD/MM/YYYY') });
    expect(r.inserted).toBe(1);
    expect(r.rejected).toEqual([{ line: 3, field: 'start', reason: "not a calendar date: '31/02/2024'" }]);
    const [row] = await e.query<{ s: string; e: string }>(
      raw('SELECT start_at AS s, end_at AS e FROM billing_subscription_rows'),
    );
    expect(row).toEqual({ s: '2024-01-31T00:00:00.000Z', e: '2024-02-29T00:00:00.000Z' });
    await e.close();
  });

  it('Stripe: one bad object (amount beyond INT64, a year-29663 time, bad currency) never aborts the file', async () => {
    const e = await store();
    const p = price('p1', 'prod_1', 2500, 'month');
    const line = (id: string, amount: number) =>
      currentLine({ id, amount, price: p, start: '2024-01-01', end: '2024-02-01', subscription: 'sub_1' });
    const huge = invoice('in_huge', 'cus_1', '2024-01-01', [line('il_h', 1)]);
    (huge.lines.data[0] as { amount: number }).amount = 1e20;
    const far = { ...customer('cus_far'), created: (1e15 / 1000) * 1000 };
    const objects = [
      p,
      customer('cus_1'),
      invoice('in_1', 'cus_1', '2024-01-01', [line('il_1', 2500)]),
      huge,
      far,
      { ...customer('cus_eur'), currency: 'euro' },
      { ...customer('cus_neg'), created: -5 },
      invoice('in_2', 'cus_1', '2024-02-01', [line('il_2', 2500)]),
    ];
    const lines = objects.map((o) => JSON.stringify(o));
    // Line 9: invalid UTF-8 inside a JSON string.
    const bytes = Buffer.concat([
      Buffer.from(lines.join('\n') + '\n{"object":"customer","id":"cus_x","name":"Caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}\n'),
    ]);
    const { file } = write('billing.jsonl', bytes);
    const r = await importStripeFile(e, file);
    expect(ledgerBalances(r)).toBe(true);
    expect(r).toMatchObject({ records: 9, inserted: 4 });
    expect(r.rejected.map((x) => [x.line, x.field, x.reason])).toEqual([
      [
        4,
        'lines.amount',
        'invoice in_huge: out of range: 100000000000000000000 (expected -1000000000000 to 1000000000000)',
      ],
      [5, 'created', 'customer cus_far: out of range: 1000000000000000 is not a time from 1970 to 2099'],
      [6, 'currency', "customer cus_eur: expected a three-letter currency code, got 'euro'"],
      [7, 'created', 'customer cus_neg: out of range: -5 is not a time from 1970 to 2099'],
      [9, undefined, 'not valid UTF-8'],
    ]);
    const [n] = await e.query<{ n: number }>(raw('SELECT count(*)::INTEGER AS n FROM billing_invoice_lines'));
    expect(n?.n).toBe(2);
    await e.close();
  });

  it('Stripe: events dated in the future beyond the clock-skew allowance are rejected', async () => {
    const e = await store();
    const now = new Date('2024-06-01T12:00:00Z');
    const event = (id: string, created: number) => ({
      id,
      object: 'event',
      type: 'customer.created',
      created,
      data: { object: customer('cus_' + id) },
    });
    const { file } = write(
      'events.jsonl',
      [event('ok', ts('2024-06-01') + 12 * 3600 + 240), event('late', ts('2024-06-01') + 12 * 3600 + 360)]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    );
    const r = await importStripeFile(e, file, { now });
    expect(r.inserted).toBe(1);
    expect(r.rejected).toEqual([
      {
        line: 2,
        field: 'created',
        reason: 'event late: dated in the future: 2024-06-01T12:06:00.000Z is more than 5 minutes after now',
      },
    ]);
    await e.close();
  });

  it('Stripe: a truncated JSON array or gzip keeps every complete object before the cut', async () => {
    const e = await store();
    const objects = [customer('cus_a'), customer('cus_b'), customer('cus_c')];
    const text = JSON.stringify(objects, null, 2);
    const cut = text.slice(0, text.indexOf('cus_c') + 10);
    const { file } = write('cut.json', cut);
    const r = await importStripeFile(e, file);
    expect(ledgerBalances(r)).toBe(true);
    expect(r).toMatchObject({ records: 3, inserted: 2 });
    expect(r.rejected).toEqual([
      { line: 3, reason: 'the JSON array is cut short or broken here: the rest of the file cannot be read' },
    ]);
    const gz = gzipSync(objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
    const { file: gzFile } = write('cut.jsonl.gz', gz.subarray(0, gz.length - 30));
    const r2 = await importStripeFile(e, gzFile);
    expect(ledgerBalances(r2)).toBe(true);
    expect(r2.rejected.at(-1)?.reason).toMatch(
      /gzip data is damaged after \d+ bytes.*the rest of the file cannot be read/,
    );
    await e.close();
  });

  it('feedback: 2025-02-30 is rejected, not rolled to 2 March; --date-format reads MM/DD/YYYY', async () => {
    const e = await store();
    const { file } = write(
      'fb.csv',
      'id,kind,created_at,score\na,nps,2025-02-30,9\nb,nps,2025-02-28,9\nc,nps,2025-03-01,1e400\n',
    );
    const r = await importFeedback(e, file);
    expect(r.rejected).toEqual([
      { line: 2, field: 'created_at', reason: "not a calendar date: '2025-02-30'" },
      { line: 4, field: 'score', reason: "not a number: '1e400'" },
    ]);
    const { file: us } = write('us.csv', 'id,kind,created_at\nx,ticket,9/30/2022\ny,ticket,30/9/2022\n');
    const r2 = await importFeedback(e, us, { dateFormat: parseDateFormat('MM/DD/YYYY') });
    expect(r2.inserted).toBe(1);
    expect(r2.rejected).toEqual([
      { line: 3, field: 'created_at', reason: "not a calendar date: '30/9/2022'" },
    ]);
    const rows = await e.query<{ id: string; c: string }>(
      raw('SELECT id, created_at AS c FROM feedback ORDER BY id'),
    );
    expect(rows).toEqual([
      { id: 'b', c: '2025-02-28T00:00:00.000Z' },
      { id: 'x', c: '2022-09-30T00:00:00.000Z' },
    ]);
    await e.close();
  });
});
