/**
 * Property-based tests (fast-check) of the subscription CSV, Stripe, feedback and events importers: files
 * made of good records, mis-typed ones, mis-encoded ones (a byte that is not UTF-8 inside a good
 * record) and hostile text (quotes, separators, newlines, SQL, NUL, emoji), optionally cut short
 * at any byte and optionally gzip. For every file: the ledger adds up (report and `imports` row),
 * every complete good record is stored exactly, nothing bad is stored, and every complete bad
 * record is rejected at its line. Only the record a cut falls in may go either way.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { importFeedback } from './feedback/import.js';
import { listImports } from './ledger.js';
import { ledgerBalances, type ImportReport } from './report.js';
import { importStripeFile } from './stripe/import.js';
import { importSubscriptions } from './subscriptions/import.js';

/** More with FUZZ_RUNS=… (e.g. before a release); 15 keeps `npm test` quick. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 15);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-fuzz-'));
});
let n = 0;

async function freshStore(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

/** One record of a generated file: its bytes, whether it is good, and what it should store. */
interface Piece {
  bytes: Buffer;
  good: boolean;
  /** The row the store should hold for it (good pieces), as comparable JSON. */
  expect?: string;
}

interface Built {
  file: string;
  /** 1-based first line of each piece. */
  lines: number[];
  /** Pieces entirely in the file (before the cut). */
  complete: number;
  /** The piece a cut falls in, if any. */
  cut?: number;
}

/** Joins header and pieces with `\n`, cuts at `cut` (a fraction into one piece), gzips. */
function build(
  name: string,
  header: Buffer | null,
  pieces: Piece[],
  cut: [number, number] | null,
  gzip: boolean,
): Built {
  const parts: Buffer[] = [];
  const lines: number[] = [];
  let line = 1;
  let offset = 0;
  const starts: number[] = [];
  if (header) {
    parts.push(header, Buffer.from('\n'));
    offset += header.length + 1;
    line += 1 + countNewlines(header);
  }
  for (const p of pieces) {
    starts.push(offset);
    lines.push(line);
    parts.push(p.bytes, Buffer.from('\n'));
    offset += p.bytes.length + 1;
    line += 1 + countNewlines(p.bytes);
  }
  let bytes = Buffer.concat(parts);
  let complete = pieces.length;
  let cutPiece: number | undefined;
  if (cut && pieces.length) {
    const i = cut[0] % pieces.length;
    const at = starts[i]! + Math.floor(pieces[i]!.bytes.length * cut[1]);
    bytes = bytes.subarray(0, at);
    complete = i;
    if (at > starts[i]!) cutPiece = i;
  }
  const file = join(dir, `${n++}-${name}${gzip ? '.gz' : ''}`);
  writeFileSync(file, gzip ? gzipSync(bytes) : bytes);
  return { file, lines, complete, cut: cutPiece };
}

const countNewlines = (b: Buffer): number => b.toString('latin1').split('\n').length - 1;

/** Injects a byte that is not UTF-8 after the first `"` of a record (inside a quoted value). */
function misencode(b: Buffer): Buffer {
  const at = b.indexOf(0x22) + 1;
  return Buffer.concat([b.subarray(0, at), Buffer.from([0xff]), b.subarray(at)]);
}

const HOSTILE = [
  `'); DROP TABLE billing_subscription_rows; --`,
  'a, b; c',
  'say "hi"',
  'two\nlines',
  'crlf\r\nline',
  'tab\there',
  '💥 emoji ünïcödé 漢字',
  'nul\u0000byte',
  '\uFEFFbom',
  '<script>alert(1)</script>',
  '',
  '   ',
];
const hostile = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme', maxLength: 16 }));

const csvCell = (s: string): string => '"' + s.replaceAll('"', '""') + '"';

/** Checks the ledger: the report adds up, and the store's `imports` row says the same. */
async function checkLedger(e: DuckDbEngine, r: ImportReport): Promise<void> {
  expect(ledgerBalances(r), JSON.stringify(r)).toBe(true);
  const [row] = (await listImports(e)).slice(-1);
  expect(row).toMatchObject({
    kind: r.kind,
    records: r.records,
    inserted: r.inserted,
    updated: r.updated,
    duplicates: r.duplicates,
    rejected: r.rejected.length,
  });
}

/** The common assertions: good stored exactly, bad not stored and rejected at their lines. */
function checkOutcome(b: Built, pieces: Piece[], r: ImportReport, stored: string[], damaged = false): void {
  const rejectedLines = new Set(r.rejected.map((x) => x.line));
  const want = pieces
    .slice(0, b.complete)
    .filter((p) => p.good)
    .map((p) => p.expect!);
  const extra = multisetMinus(stored, want);
  const missing = multisetMinus(want, stored);
  if (damaged) {
    // A damaged gzip stream: what unzips is a prefix; nothing bad and nothing twice is stored.
    expect(extra, 'stored but not a good record').toEqual([]);
    return;
  }
  expect(missing, 'good records not stored').toEqual([]);
  // Only the record the cut falls in may be stored beside the complete good ones.
  expect(extra.length, `unexpected rows: ${JSON.stringify(extra)}`).toBeLessThanOrEqual(
    b.cut === undefined ? 0 : 1,
  );
  pieces.slice(0, b.complete).forEach((p, i) => {
    if (!p.good)
      expect(rejectedLines.has(b.lines[i]!), `bad record at line ${b.lines[i]} not rejected`).toBe(true);
  });
  const badComplete = pieces.slice(0, b.complete).filter((p) => !p.good).length;
  expect(r.rejected.length).toBeGreaterThanOrEqual(badComplete);
  expect(r.rejected.length).toBeLessThanOrEqual(badComplete + (b.cut === undefined ? 0 : 1));
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const k = left.get(x) ?? 0;
    if (k > 0) left.set(x, k - 1);
    else out.push(x);
  }
  return out;
}

const shape = fc.record({
  cut: fc.option(fc.tuple(fc.nat(), fc.double({ min: 0, max: 0.999, noNaN: true })), { freq: 3 }),
  gzip: fc.boolean(),
  damageGzip: fc.boolean(),
});

// ---- subscription CSV -------------------------------------------------------------------------

const SUB_HEADER =
  'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status';

const goodSub = fc.record({
  customer: fc.constantFrom('k1', 'k"2', 'k,3', 'é4', 'k 5'),
  organization: hostile,
  plan: fc.constantFrom('Team', 'Pro', '', 'a "b"'),
  product: fc.constantFrom('p', '', 'prod,x'),
  currency: fc.constantFrom('usd', 'EUR', 'jpy'),
  amount: fc.integer({ min: -1e12, max: 1e12 }),
  interval: fc.constantFrom('day', 'week', 'month', 'year', 'Month'),
  count: fc.integer({ min: 1, max: 1000 }),
  quantity: fc.integer({ min: 0, max: 1e9 }),
  start: fc.constantFrom(
    ['2024-01-01', '2024-01-01T00:00:00.000Z'],
    ['2024-02-29 12:30', '2024-02-29T12:30:00.000Z'],
    ['2024-03-31T23:00:00-02:00', '2024-04-01T01:00:00.000Z'],
  ),
  end: fc.option(fc.constant(['2024-06-30', '2024-06-30T00:00:00.000Z'] as const)),
  status: hostile,
});

const BAD_SUB_CELLS: [number, string][] = [
  [5, '99999999999999999999'],
  [5, 'abc'],
  [5, '12.5'],
  [9, '2025-02-30'],
  [9, '0001-01-01'],
  [4, 'dollars'],
  [6, 'fortnight'],
  [8, '-1'],
  [7, '0'],
  [0, ''],
];

const subPiece = fc.oneof(
  { weight: 6, arbitrary: goodSub.map((g) => ({ kind: 'good' as const, g })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(goodSub, fc.constantFrom(...BAD_SUB_CELLS))
      .map(([g, bad]) => ({ kind: 'bad' as const, g, bad })),
  },
  { weight: 1, arbitrary: goodSub.map((g) => ({ kind: 'misencoded' as const, g })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'short' as const }) },
);

type SubGen = typeof goodSub extends fc.Arbitrary<infer T> ? T : never;

function subCells(g: SubGen): string[] {
  return [
    g.customer,
    g.organization,
    g.plan,
    g.product,
    g.currency,
    String(g.amount),
    g.interval,
    String(g.count),
    String(g.quantity),
    g.start[0],
    g.end ? g.end[0] : '',
    g.status,
  ];
}

function subRow(g: SubGen): string {
  return JSON.stringify([
    g.customer.trim(),
    g.organization.trim() || null,
    g.plan.trim(),
    g.product.trim(),
    g.currency.toUpperCase(),
    g.amount,
    g.interval.toLowerCase(),
    g.count,
    g.quantity,
    g.start[1],
    g.end ? g.end[1] : null,
    g.status.trim() || null,
  ]);
}

describe('fuzz: the subscription CSV importer', () => {
  it('accounts for every row and loses no good one, whatever the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(subPiece, { maxLength: 30 }), shape, async (recs, s) => {
        const pieces: Piece[] = recs.map((r) => {
          if (r.kind === 'short') return { bytes: Buffer.from('k9,,Team'), good: false };
          const cells = subCells(r.g);
          if (r.kind === 'bad') cells[r.bad[0]] = r.bad[1];
          const bytes = Buffer.from(cells.map(csvCell).join(','));
          if (r.kind === 'misencoded') return { bytes: misencode(bytes), good: false };
          return r.kind === 'good' ? { bytes, good: true, expect: subRow(r.g) } : { bytes, good: false };
        });
        const b = build('subs.csv', Buffer.from(SUB_HEADER), pieces, s.cut, s.gzip);
        let damaged = false;
        if (s.gzip && s.damageGzip && s.cut) {
          damaged = true;
          const z = readFileSync(b.file);
          writeFileSync(b.file, z.subarray(0, Math.max(20, z.length - 9)));
        }
        const e = await freshStore();
        try {
          const r = await importSubscriptions(e, b.file);
          await checkLedger(e, r);
          const rows = await e.query<{ j: string }>(
            raw(`SELECT to_json([customer_id, organization, plan, product, currency, amount::VARCHAR, interval,
                interval_count::VARCHAR, quantity::VARCHAR, strftime(start_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'),
                strftime(end_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), status])::VARCHAR AS j FROM billing_subscription_rows`),
          );
          const stored = rows.map((x) => {
            const v = JSON.parse(x.j) as (string | null)[];
            return JSON.stringify([
              v[0],
              v[1],
              v[2],
              v[3],
              v[4],
              Number(v[5]),
              v[6],
              Number(v[7]),
              Number(v[8]),
              v[9],
              v[10],
              v[11],
            ]);
          });
          checkOutcome(b, pieces, r, stored, damaged);
          // Re-importing the same file stores nothing twice.
          const again = await importSubscriptions(e, b.file);
          expect(again.inserted).toBe(0);
          const [c] = await e.query<{ n: number }>(
            raw('SELECT count(*)::INTEGER AS n FROM billing_subscription_rows'),
          );
          expect(c?.n).toBe(stored.length);
        } finally {
          await e.close();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- Stripe -----------------------------------------------------------------------------------

const goodCustomer = fc.record({
  name: hostile,
  created: fc.integer({ min: 0, max: 4_102_444_799 }),
  currency: fc.constantFrom('usd', 'EUR', null),
});
const goodInvoice = fc.record({
  amount: fc.integer({ min: -1e12, max: 1e12 }),
  quantity: fc.option(fc.integer({ min: 0, max: 1e9 })),
  description: hostile,
});

type StripeRec =
  | { kind: 'customer'; c: { name: string; created: number; currency: string | null } }
  | { kind: 'invoice'; i: { amount: number; quantity: number | null; description: string } }
  | { kind: 'bad'; text: string }
  | { kind: 'misencoded'; c: { name: string; created: number; currency: string | null } };

const BAD_STRIPE = [
  '{"object":"customer","id":"cus_bad1","created":1000000000000000}',
  '{"object":"customer","id":"cus_bad2","currency":"euro"}',
  '{"object":"customer","id":"cus_bad3","created":-5}',
  '{"object":"invoice","id":"in_bad1","lines":{"data":[{"id":"il","amount":1e20}]}}',
  '{"object":"invoice","id":"in_bad2","lines":{"data":[{"id":"il","amount":"12"}]}}',
  '{"object":"invoice","id":"in_bad3","lines":{"data":[{"id":"il","amount":1,"quantity":-1}]}}',
  '{"object":"customer"}',
  '{"object":"customer","id":"cus_bad4","name":{"first":"x"}}',
  '[1]',
  '"just a string"',
  '{"object": "customer", "id": "cus_cut"',
  '{"id":"no_type"}',
];

const stripeRec: fc.Arbitrary<StripeRec> = fc.oneof(
  { weight: 4, arbitrary: goodCustomer.map((c) => ({ kind: 'customer' as const, c })) },
  { weight: 4, arbitrary: goodInvoice.map((i) => ({ kind: 'invoice' as const, i })) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_STRIPE).map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: goodCustomer.map((c) => ({ kind: 'misencoded' as const, c })) },
);

function stripeObject(r: StripeRec, i: number): { object: unknown; expect?: string } {
  if (r.kind === 'customer' || r.kind === 'misencoded') {
    const id = `cus_${i}`;
    return {
      object: { object: 'customer', id, name: r.c.name, created: r.c.created, currency: r.c.currency },
      expect: JSON.stringify([
        'customer',
        id,
        r.c.name,
        String(r.c.created),
        r.c.currency?.toUpperCase() ?? null,
      ]),
    };
  }
  if (r.kind === 'invoice') {
    const id = `in_${i}`;
    const line = {
      id: 'il_1',
      object: 'line_item',
      amount: r.i.amount,
      quantity: r.i.quantity,
      description: r.i.description,
    };
    return {
      object: {
        object: 'invoice',
        id,
        customer: 'cus_x',
        currency: 'usd',
        status: 'paid',
        created: 1_700_000_000,
        lines: { object: 'list', data: [line] },
      },
      expect: JSON.stringify([
        'invoice',
        id,
        r.i.description,
        String(r.i.amount),
        r.i.quantity === null ? null : String(r.i.quantity),
      ]),
    };
  }
  return { object: undefined };
}

describe('fuzz: the Stripe importer', () => {
  it('accounts for every object and loses no good one, JSON Lines or a JSON array', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stripeRec, { maxLength: 30 }),
        shape,
        fc.boolean(),
        async (recs, s, asArray) => {
          let pieces: Piece[];
          let header: Buffer | null = null;
          if (asArray) {
            // A JSON array, one element per line: records are numbered by index, mis-encoding not
            // placed (a whole document's bad bytes are found per record, tested below with lines).
            pieces = recs.map((r, i) => {
              const o = stripeObject(r.kind === 'misencoded' ? { kind: 'customer', c: r.c } : r, i);
              const text = o.object === undefined ? (r as { text: string }).text : JSON.stringify(o.object);
              const good = o.object !== undefined;
              return { bytes: Buffer.from(text + (i < recs.length - 1 ? ',' : '')), good, expect: o.expect };
            });
            // An unparseable element breaks the array from there on: keep arrays of parseable ones.
            pieces = pieces.filter((p, i) => p.good || isJson((recs[i] as { text: string }).text));
            header = Buffer.from('[');
            if (pieces.length)
              pieces[pieces.length - 1] = {
                ...pieces.at(-1)!,
                bytes: Buffer.from(pieces.at(-1)!.bytes.toString().replace(/,$/, '') + ']'),
              };
          } else {
            pieces = recs.map((r, i) => {
              const o = stripeObject(r, i);
              if (o.object === undefined)
                return { bytes: Buffer.from((r as { text: string }).text), good: false };
              const bytes = Buffer.from(JSON.stringify(o.object));
              return r.kind === 'misencoded'
                ? { bytes: misencode(bytes.subarray(0)), good: false }
                : { bytes, good: true, expect: o.expect };
            });
          }
          const b = build(asArray ? 'billing.json' : 'billing.jsonl', header, pieces, s.cut, s.gzip);
          const e = await freshStore();
          try {
            const r = await importStripeFile(e, b.file);
            await checkLedger(e, r);
            const rows = await e.query<{ j: string }>(
              raw(`SELECT to_json(['customer', id, name, epoch(created)::BIGINT::VARCHAR, currency])::VARCHAR AS j FROM billing_customers
              UNION ALL SELECT to_json(['invoice', i.id, l.description, l.amount::VARCHAR, l.quantity::VARCHAR])::VARCHAR
              FROM billing_invoices i JOIN billing_invoice_lines l ON l.invoice_id = i.id`),
            );
            const stored = rows.map((x) => JSON.stringify(JSON.parse(x.j)));
            if (asArray) {
              // Numbered by index: check the stored set only (a cut array keeps its complete elements).
              const want = pieces
                .slice(0, b.complete)
                .filter((p) => p.good)
                .map((p) => p.expect!);
              expect(multisetMinus(want, stored), 'good objects not stored').toEqual([]);
              expect(multisetMinus(stored, want).length).toBeLessThanOrEqual(b.cut === undefined ? 0 : 1);
            } else {
              checkOutcome(b, pieces, r, stored);
            }
            const again = await importStripeFile(e, b.file);
            expect(again.inserted).toBe(0);
          } finally {
            await e.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

// ---- feedback ---------------------------------------------------------------------------------

const goodFeedback = fc.record({
  kind: fc.constantFrom('nps', 'ticket', 'request', 'Interview', 'cancellation'),
  created: fc.constantFrom(
    ['2024-01-01', '2024-01-01T00:00:00.000Z'],
    ['2024-02-29T23:59:59+01:00', '2024-02-29T22:59:59.000Z'],
  ),
  score: fc.integer({ min: 0, max: 10 }),
  body: hostile,
  organization: hostile,
});

type FeedbackRec =
  | { kind: 'good'; f: typeof goodFeedback extends fc.Arbitrary<infer T> ? T : never }
  | {
      kind: 'bad';
      f: typeof goodFeedback extends fc.Arbitrary<infer T> ? T : never;
      field: 'kind' | 'created_at' | 'score' | 'id';
      value: string;
    }
  | { kind: 'misencoded'; f: typeof goodFeedback extends fc.Arbitrary<infer T> ? T : never };

const BAD_FEEDBACK: ['kind' | 'created_at' | 'score' | 'id', string][] = [
  ['kind', 'complaint'],
  ['created_at', '2025-02-30'],
  ['created_at', '30/09/2021'],
  ['created_at', '9999-01-01'],
  ['score', '11'],
  ['id', ''],
];

const feedbackRec: fc.Arbitrary<FeedbackRec> = fc.oneof(
  { weight: 6, arbitrary: goodFeedback.map((f) => ({ kind: 'good' as const, f })) },
  {
    weight: 2,
    arbitrary: fc.tuple(goodFeedback, fc.constantFrom(...BAD_FEEDBACK)).map(([f, [field, value]]) => ({
      kind: 'bad' as const,
      f: { ...f, kind: field === 'score' ? 'nps' : f.kind },
      field,
      value,
    })),
  },
  { weight: 1, arbitrary: goodFeedback.map((f) => ({ kind: 'misencoded' as const, f })) },
);

describe('fuzz: the feedback importer', () => {
  it('accounts for every record and loses no good one, CSV or JSON Lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(feedbackRec, { maxLength: 30 }),
        shape,
        fc.boolean(),
        async (recs, s, csv) => {
          const pieces: Piece[] = recs.map((r, i) => {
            const isNps = r.f.kind === 'nps';
            const rec: Record<string, string> = {
              id: `f${i}`,
              kind: r.f.kind,
              created_at: r.f.created[0],
              score: isNps ? String(r.f.score) : '',
              organization: r.f.organization,
              body: r.f.body,
            };
            if (r.kind === 'bad') rec[r.field] = r.value;
            const bytes = csv
              ? Buffer.from(
                  ['id', 'kind', 'created_at', 'score', 'organization', 'body']
                    .map((k) => csvCell(rec[k]!))
                    .join(','),
                )
              : Buffer.from(JSON.stringify(rec));
            if (r.kind === 'misencoded') return { bytes: misencode(bytes), good: false };
            if (r.kind === 'bad') return { bytes, good: false };
            return {
              bytes,
              good: true,
              expect: JSON.stringify([
                `f${i}`,
                r.f.kind.toLowerCase(),
                r.f.created[1],
                isNps ? r.f.score : null,
                r.f.organization || null,
                r.f.body || null,
              ]),
            };
          });
          const header = csv ? Buffer.from('id,kind,created_at,score,organization,body') : null;
          const b = build(csv ? 'feedback.csv' : 'feedback.jsonl', header, pieces, s.cut, s.gzip);
          const e = await freshStore();
          try {
            const r = await importFeedback(e, b.file);
            await checkLedger(e, r);
            const rows = await e.query<{ j: string }>(
              raw(
                `SELECT to_json([id, kind, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), score::VARCHAR, organization, body])::VARCHAR AS j FROM feedback`,
              ),
            );
            const stored = rows.map((x) => {
              const v = JSON.parse(x.j) as (string | null)[];
              return JSON.stringify([v[0], v[1], v[2], v[3] === null ? null : Number(v[3]), v[4], v[5]]);
            });
            checkOutcome(b, pieces, r, stored);
            const again = await importFeedback(e, b.file);
            expect(again.inserted).toBe(0);
          } finally {
            await e.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ---- events -----------------------------------------------------------------------------------

const goodEvent = fc.record({
  uuid: fc.option(fc.uuid({ version: 7 }), { freq: 2 }),
  event: hostile.filter((s) => s !== ''),
  distinctId: fc.oneof(
    hostile.filter((s) => s !== ''),
    fc.integer({ min: 0, max: 1e9 }),
  ),
  timestamp: fc.constantFrom(
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
    ['2024-02-29T12:30:00.123Z', '2024-02-29T12:30:00.123Z'],
    ['2024-03-31T23:00:00-02:00', '2024-04-01T01:00:00.000Z'],
  ),
  properties: fc.option(
    fc.dictionary(
      fc.constantFrom('plan', 'seats', 'note', 'a b', 'ünï', 'nested'),
      fc.oneof(hostile, fc.integer(), fc.boolean(), fc.constant(null)),
      { maxKeys: 4 },
    ),
    { freq: 4 },
  ),
});

type EventGen = typeof goodEvent extends fc.Arbitrary<infer T> ? T : never;

/** Bad event lines: each breaks one rule of EVENT_RULES (docs/ingest.md). */
const BAD_EVENTS = [
  '{"distinct_id":"d","timestamp":"2024-01-01T00:00:00Z"}',
  '{"event":7,"distinct_id":"d","timestamp":"2024-01-01T00:00:00Z"}',
  '{"event":"","distinct_id":"d","timestamp":"2024-01-01T00:00:00Z"}',
  '{"event":"e","timestamp":"2024-01-01T00:00:00Z"}',
  '{"event":"e","distinct_id":{"a":1},"timestamp":"2024-01-01T00:00:00Z"}',
  '{"event":"e","distinct_id":"d"}',
  '{"event":"e","distinct_id":"d","timestamp":"2025-02-30T10:00:00Z"}',
  '{"event":"e","distinct_id":"d","timestamp":"0001-01-01T00:00:00Z"}',
  '{"event":"e","distinct_id":"d","timestamp":"2999-01-01T00:00:00Z"}',
  '{"event":"e","distinct_id":"d","timestamp":"yesterday"}',
  '{"event":"e","distinct_id":"d","timestamp":"2024-01-01T00:00:00Z","properties":[1]}',
  '{"event":"e","distinct_id":"d","timestamp":"2024-01-01T00:00:00Z","uuid":5}',
  '{"event":"e","distinct_id":"d","timestamp":"2024-01-01T00:00:00Z"',
  '[1,2]',
  'not json at all; DROP TABLE events; --',
];

type EventRec = { kind: 'good' | 'misencoded'; g: EventGen } | { kind: 'bad'; text: string };

const eventRec: fc.Arbitrary<EventRec> = fc.oneof(
  { weight: 6, arbitrary: goodEvent.map((g) => ({ kind: 'good' as const, g })) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_EVENTS).map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: goodEvent.map((g) => ({ kind: 'misencoded' as const, g })) },
);

/** Keys sorted at every depth: properties are compared in canonical form. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

function eventExpect(g: EventGen): string {
  return JSON.stringify([g.event, String(g.distinctId), g.timestamp[1], canonical(g.properties ?? {})]);
}

describe('fuzz: the events importer', () => {
  it('accounts for every line and loses no good one, a repeated line included', async () => {
    const { importEvents } = await import('./posthog/import-events.js');
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventRec, { maxLength: 30 }),
        fc.nat(),
        shape,
        async (recs, repeatSeed, s) => {
          // A file that is only `[1,2]` is a JSON array of two records, not a line: another file.
          fc.pre(!(recs.length === 1 && recs[0]!.kind === 'bad' && recs[0]!.text.startsWith('[')));
          // A uuid is the event's key: a uuid two good lines share is one event. Give every good
          // line its own uuid (or none), and repeat one good line without uuid verbatim: two
          // identical lines are two events (content + occurrence).
          const seen = new Set<string>();
          const gens = recs.map((r) => {
            if (r.kind === 'bad' || !r.g.uuid) return r;
            if (seen.has(r.g.uuid)) return { ...r, g: { ...r.g, uuid: null } };
            seen.add(r.g.uuid);
            return r;
          });
          const noUuid = gens.filter((r) => r.kind === 'good' && !r.g.uuid);
          if (noUuid.length) gens.push(noUuid[repeatSeed % noUuid.length]!);
          const pieces: Piece[] = gens.map((r) => {
            if (r.kind === 'bad') return { bytes: Buffer.from(r.text), good: false };
            const o: Record<string, unknown> = {
              event: r.g.event,
              distinct_id: r.g.distinctId,
              timestamp: r.g.timestamp[0],
            };
            if (r.g.properties) o.properties = r.g.properties;
            if (r.g.uuid) o.uuid = r.g.uuid;
            const bytes = Buffer.from(JSON.stringify(o));
            if (r.kind === 'misencoded') return { bytes: misencode(bytes), good: false };
            return { bytes, good: true, expect: eventExpect(r.g) };
          });
          const b = build('events.jsonl', null, pieces, s.cut, s.gzip);
          let damaged = false;
          if (s.gzip && s.damageGzip && s.cut) {
            damaged = true;
            const z = readFileSync(b.file);
            writeFileSync(b.file, z.subarray(0, Math.max(20, z.length - 9)));
          }
          const e = await freshStore();
          try {
            const now = new Date('2026-01-01T00:00:00Z');
            const r = await importEvents(e, b.file, { now });
            await checkLedger(e, r);
            const rows = await e.query<{ j: string }>(
              raw(`SELECT to_json([event, distinct_id, strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'),
                  properties::VARCHAR])::VARCHAR AS j FROM events`),
            );
            const stored = rows.map((x) => {
              const [ev, id, ts, props] = JSON.parse(x.j) as [string, string, string, string];
              return JSON.stringify([ev, id, ts, canonical(JSON.parse(props))]);
            });
            checkOutcome(b, pieces, r, stored, damaged);
            // Re-importing the same file stores nothing twice.
            const again = await importEvents(e, b.file, { now });
            expect(again.inserted).toBe(0);
            expect(ledgerBalances(again)).toBe(true);
            const [c] = await e.query<{ n: number }>(raw('SELECT count(*)::INTEGER AS n FROM events'));
            expect(c?.n).toBe(stored.length);
          } finally {
            await e.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 600_000);
});
