import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { runCaptured } from '../../test/helpers/cli-in-process.js';
import type { LedgerTotal } from './imports.js';

/*
 * Issue 15, case 3: a truncated or corrupted `.gz` given to any importer keeps its readable part,
 * names the file, prints the ledger and exits 2 — never a bare zlib message with exit 1 (what the
 * events importer did: "sextant: unexpected end of file"), never silently shorter (DuckDB's own
 * gzip reader reads a truncated stream as a shorter file and does not check the CRC). Real
 * files (test/fixtures/real/, README there), gzipped, then damaged three ways:
 * - truncated in the middle of a line: every complete line before the cut is stored;
 * - truncated at a line boundary (a full flush there, then nothing): the same, and the cut is
 *   still reported (it used to pass as a clean, shorter file);
 * - the CRC of an otherwise whole file corrupted: every record stored, the damage reported;
 * - a byte of the deflate data flipped: what unzips is kept or rejected, the damage reported.
 */

const REAL = new URL('../../test/fixtures/real/', import.meta.url).pathname;

const q = (s: string): string => '"' + s.replaceAll('"', '""') + '"';

/** Each importer's real file as lines (a CSV's header first) and how many records it has. */
const SETS = {
  events: {
    ext: 'jsonl',
    header: false,
    // Real posthog-js capture output (test/fixtures/real/posthog-payloads).
    lines: (): string[] =>
      readFileSync(join(REAL, 'posthog-payloads/decoded_events.jsonl'), 'utf8').trimEnd().split('\n'),
  },
  subscriptions: {
    ext: 'csv',
    header: true,
    // IBM's Telco churn sample (test/fixtures/real/ibm-telco-churn): one subscription a customer.
    lines: (): string[] => {
      const [head, ...rows] = parse<string[]>(
        readFileSync(join(REAL, 'ibm-telco-churn/Telco-Customer-Churn.csv')),
      );
      const c = (n: string): number => head!.indexOf(n);
      return [
        'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status',
        ...rows.map((r) =>
          [
            r[c('customerID')],
            '',
            q(r[c('Contract')]!),
            q(r[c('InternetService')]!),
            'USD',
            Math.round(Number(r[c('MonthlyCharges')]) * 100),
            'month',
            1,
            1,
            '2024-01-01',
            '',
            'active',
          ].join(','),
        ),
      ];
    },
  },
  feedback: {
    ext: 'csv',
    header: true,
    // NHS Friends and Family Test answers (test/fixtures/real/nhs-fft-feedback).
    lines: (): string[] => {
      const [, ...rows] = parse<string[]>(readFileSync(join(REAL, 'nhs-fft-feedback/fft-answers-800.csv')));
      return [
        'id,kind,created_at,body',
        ...rows.map((r, i) =>
          [q(`${r[0]}#${i}`), 'ticket', '2024-03-01', q(r[2]!.replace(/\r?\n/g, ' '))].join(','),
        ),
      ];
    },
  },
  stripe: {
    ext: 'jsonl',
    header: false,
    // Stripe's own API fixtures (test/fixtures/real/stripe-fixtures): every resource a line.
    lines: (): string[] => {
      const f = JSON.parse(readFileSync(join(REAL, 'stripe-fixtures/fixtures3.json'), 'utf8')) as {
        resources: Record<string, unknown>;
      };
      return Object.values(f.resources).map((o) => JSON.stringify(o));
    },
  },
} as const;

type Kind = keyof typeof SETS;

/** A gzip member of `text`, with a full flush after its first `flushAfter` bytes (a clean cut). */
function gzipWithFlush(text: string, flushAfter: number): { gz: Buffer; flushEnd: number } {
  // The header (10 bytes) and trailer of a plain gzip of `text`, around a raw deflate of its
  // head (full-flushed: every byte before is out, byte-aligned) and of the rest.
  const whole = gzipSync(text);
  const a = deflateRawSync(text.slice(0, flushAfter), { finishFlush: constants.Z_FULL_FLUSH });
  const b = deflateRawSync(text.slice(flushAfter));
  const gz = Buffer.concat([whole.subarray(0, 10), a, b, whole.subarray(whole.length - 8)]);
  return { gz, flushEnd: 10 + a.length };
}

/** The ledger's sums, as `sextant imports` adds them up. */
type Ledger = Omit<LedgerTotal, 'imports' | 'unfinished'>;

async function ledger(db: string): Promise<Ledger> {
  const r = await runCaptured(['--db', db, '--json', 'imports']);
  expect(r.code).toBe(0);
  const rows = JSON.parse(r.out) as { imports: Ledger[] } | Ledger[];
  const list = Array.isArray(rows) ? rows : rows.imports;
  expect(list).toHaveLength(1);
  return list[0]!;
}

/** Records read and not rejected: stored, or known (a duplicate, an unchanged or skipped object). */
function keptOf(l: Ledger): number {
  return l.inserted + l.updated + l.duplicates + l.skipped;
}

let dir = '';
afterEach(() => {
  delete process.env.SEXTANT_CHUNK_BYTES;
});

describe.each(Object.keys(SETS) as Kind[])('sextant import %s of a damaged .gz', (kind) => {
  const set = SETS[kind];

  async function importDamaged(
    name: string,
    gz: Buffer,
  ): Promise<{ code: number; err: string; out: string; l: Ledger }> {
    dir ||= mkdtempSync(join(tmpdir(), 'sextant-gz-'));
    const file = join(dir, `${kind}-${name}.${set.ext}.gz`);
    writeFileSync(file, gz);
    const db = join(dir, `${kind}-${name}.duckdb`);
    const r = await runCaptured(['--db', db, 'import', kind, file]);
    // Exit 2, the file named with the damage, and the ledger printed and adding up.
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`${kind}-${name}.${set.ext}.gz`);
    expect(r.err).toMatch(/gzip data (.*damaged after \d+ bytes|ends here)/);
    expect(r.out).toMatch(new RegExp(`${kind}-${name}\\.${set.ext}\\.gz: [\\d,]+ records?: `));
    const l = await ledger(db);
    expect(l.records).toBe(l.inserted + l.updated + l.duplicates + l.skipped + l.rejected);
    return { ...r, l };
  }

  it('truncated mid-line, or at a line boundary: keeps every complete line before the cut', async () => {
    const lines = set.lines();
    const text = lines.join('\n') + '\n';
    const records = lines.length - (set.header ? 1 : 0);
    expect(records).toBeGreaterThan(50);
    // A clean import of the whole file: the reference count of stored + skipped records.
    dir ||= mkdtempSync(join(tmpdir(), 'sextant-gz-'));
    const clean = join(dir, `${kind}-clean.${set.ext}.gz`);
    writeFileSync(clean, gzipSync(text));
    const cleanDb = join(dir, `${kind}-clean.duckdb`);
    expect((await runCaptured(['--db', cleanDb, 'import', kind, clean])).code).toBe(0);
    expect((await ledger(cleanDb)).records).toBe(records);

    // At a line boundary: the first half of the lines, full-flushed, and nothing after.
    const half = Math.floor(lines.length / 2);
    const headBytes = Buffer.byteLength(lines.slice(0, half).join('\n') + '\n');
    const { gz, flushEnd } = gzipWithFlush(text, headBytes);
    const atBoundary = await importDamaged('boundary', gz.subarray(0, flushEnd));
    const kept = half - (set.header ? 1 : 0);
    expect(atBoundary.l.records).toBe(kept + 1);
    expect(atBoundary.l.rejected).toBe(1);
    expect(keptOf(atBoundary.l)).toBe(kept);

    // Mid-line: cut a few bytes into the line after the flush point.
    const midLine = await importDamaged('midline', gz.subarray(0, flushEnd + 40));
    const readable = inflateRawSync(gz.subarray(10, flushEnd + 40), {
      finishFlush: constants.Z_SYNC_FLUSH,
    }).toString();
    const complete = readable.slice(0, readable.lastIndexOf('\n') + 1).split('\n').length - 1;
    expect(complete).toBeGreaterThanOrEqual(half);
    expect(keptOf(midLine.l)).toBe(complete - (set.header ? 1 : 0));
    expect(midLine.l.rejected).toBeGreaterThanOrEqual(1);
  });

  it('with a corrupted CRC or a flipped deflate byte: keeps what unzips, reports the damage, exit 2', async () => {
    const lines = set.lines();
    const text = lines.join('\n') + '\n';
    const records = lines.length - (set.header ? 1 : 0);
    const gz = gzipSync(text);
    // The CRC32 of the trailer: every byte of data unzips; the check fails at the end.
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8] = badCrc[gz.length - 8]! ^ 0xff;
    const crc = await importDamaged('crc', badCrc);
    expect(crc.l.records).toBe(records + 1);
    expect(crc.l.rejected).toBe(1);
    expect(crc.err).toMatch(/incorrect data check/);
    // A flipped byte in the middle of the deflate data.
    const flipped = Buffer.from(gz);
    const at = Math.floor(gz.length / 2);
    flipped[at] = flipped[at]! ^ 0xff;
    const flip = await importDamaged('flipped', flipped);
    expect(flip.l.rejected).toBeGreaterThanOrEqual(1);
    expect(keptOf(flip.l)).toBeGreaterThan(0);
  });

  if (kind === 'events') {
    it('cut into chunks (a large file): the chunks before the damage are kept, the cut reported', async () => {
      process.env.SEXTANT_CHUNK_BYTES = '20000';
      const lines = set.lines();
      const text = lines.join('\n') + '\n';
      const half = Math.floor(lines.length / 2);
      const { gz, flushEnd } = gzipWithFlush(text, Buffer.byteLength(lines.slice(0, half).join('\n') + '\n'));
      // Its last 4 bytes, read as the gzip trailer's size, exceed a chunk: it is cut into chunks
      // (not given whole to DuckDB).
      const cut = gz.subarray(0, flushEnd + 40);
      expect(cut.readUInt32LE(cut.length - 4)).toBeGreaterThan(20_000);
      const r = await importDamaged('chunked', cut);
      expect(r.l.inserted).toBe(half);
      expect(r.l.rejected).toBe(1);
    });

    // The chunked path stores the chunks it unzipped before the damage, then the line path reads
    // the readable part again and sorts out what was stored: it must read at least as much, on
    // every run (it once read less on some runs, timing-dependent: "does not add up").
    it('cut into chunks at many points: every complete line before each cut, the same on every run', async () => {
      process.env.SEXTANT_CHUNK_BYTES = '20000';
      const text = set.lines().join('\n') + '\n';
      const gz = gzipSync(text);
      for (let i = 0; i < 12; i++) {
        const at = Math.floor(gz.length * (0.12 + (0.85 * i) / 11));
        const cut = gz.subarray(0, at);
        if (cut.readUInt32LE(cut.length - 4) <= 20_000) continue; // would be read whole, not chunked
        const readable = inflateRawSync(gz.subarray(10, at), {
          finishFlush: constants.Z_SYNC_FLUSH,
        }).toString();
        const complete =
          readable.lastIndexOf('\n') < 0
            ? 0
            : readable.slice(0, readable.lastIndexOf('\n')).split('\n').length;
        const r = await importDamaged(`cut${i}`, cut);
        expect(keptOf(r.l), `cut at byte ${at}`).toBe(complete);
        expect(r.l.rejected).toBe(1);
      }
      // A corrupt byte: what unzips before it is kept, the same on each of three imports.
      for (const share of [0.3, 0.55, 0.8]) {
        const bad = Buffer.from(gz);
        const at = Math.floor(gz.length * share);
        bad[at] = bad[at]! ^ 0x5a;
        const runs = [];
        for (let k = 0; k < 3; k++) runs.push((await importDamaged(`flip${share}-${k}`, bad)).l);
        expect(keptOf(runs[0]!)).toBeGreaterThan(0);
        const counts = (l: Ledger): number[] => [l.records, l.inserted, l.duplicates, l.rejected];
        for (const l of runs.slice(1)) expect(counts(l)).toEqual(counts(runs[0]!));
      }
    }, 300_000);
  }
});

describe('sextant import events of a JSON array cut short (real posthog-js events)', () => {
  const events = (): string[] => SETS.events.lines();

  async function importFile(
    name: string,
    bytes: Buffer | string,
  ): Promise<{ code: number; err: string; l: Ledger }> {
    dir ||= mkdtempSync(join(tmpdir(), 'sextant-gz-'));
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const db = join(dir, `${name}.duckdb`);
    const r = await runCaptured(['--db', db, 'import', 'events', file]);
    const l = await ledger(db);
    expect(l.records).toBe(l.inserted + l.updated + l.duplicates + l.skipped + l.rejected);
    return { code: r.code, err: r.err, l };
  }

  it('keeps every complete element of a truncated array, plain or gzipped, and rejects the rest as one record', async () => {
    const items = events();
    const whole = '[\n' + items.join(',\n') + '\n]\n';
    // Cut inside the element after the first half.
    const half = Math.floor(items.length / 2);
    const cutAt = Buffer.byteLength('[\n' + items.slice(0, half).join(',\n') + ',\n') + 30;
    const plain = await importFile('cut.json', whole.slice(0, cutAt));
    expect(plain.code).toBe(2);
    expect(plain.err).toMatch(/cut\.json:\d+: the JSON array is cut short/);
    expect(plain.l.records).toBe(half + 1);
    expect(plain.l.rejected).toBe(1);
    expect(keptOf(plain.l)).toBe(half);

    // The same cut in a gzip stream: what unzips before the damage is read the same way.
    const { gz, flushEnd } = gzipWithFlush(whole, cutAt);
    const zipped = await importFile('cut.json.gz', gz.subarray(0, flushEnd));
    expect(zipped.code).toBe(2);
    expect(zipped.err).toMatch(/gzip data damaged after \d+ bytes unzipped.*the JSON array is cut short/);
    expect(keptOf(zipped.l)).toBe(half);
    expect(zipped.l.rejected).toBe(1);

    // Whole, it is all kept: the reference.
    const clean = await importFile('whole.json.gz', gzipSync(whole));
    expect(clean.code).toBe(0);
    expect(keptOf(clean.l)).toBe(items.length);
  });

  it('reads JSON Lines whose first line is an array as lines: the array line rejected, the events kept', async () => {
    const r = await importFile('first-line-array.jsonl', ['[1,2]', ...events()].join('\n') + '\n');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/first-line-array\.jsonl:1: not a JSON object/);
    expect(r.l.records).toBe(events().length + 1);
    expect(r.l.rejected).toBe(1);
    expect(keptOf(r.l)).toBe(events().length);
  });
});
