import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { raw } from '../../store/sql.js';
import { importFeedback } from './import.js';
import { convertFft } from '../../../test/helpers/real-sets.js';

let e: DuckDbEngine;
let dir: string;
beforeEach(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  dir = mkdtempSync(join(tmpdir(), 'sextant-feedback-'));
});
afterEach(() => e.close());

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

interface Stored {
  id: string;
  kind: string;
  created_at: string;
  distinct_id: string | null;
  organization: string | null;
  score: number | null;
  title: string | null;
  body: string | null;
  tags: string[] | null;
  status: string | null;
  closed_at: string | null;
}

async function stored(): Promise<Stored[]> {
  return e.query<Stored>(
    raw(
      'SELECT id, kind, created_at, distinct_id, organization, score, title, body, tags, status, closed_at FROM feedback ORDER BY id',
    ),
  );
}

const HOSTILE = `'); DROP TABLE feedback; --`;

const CSV = [
  'id,kind,created_at,distinct_id,email,organization,score,title,body,tags,status',
  't1,ticket,2024-03-31T23:59:59Z,u1,a@x.io,org-a,,Export broken,"CSV export, ""quoted"", fails\non two lines",bug;export,open',
  `n1,NPS,2024-04-01 00:00:00+02:00,u2,,org-b,9,,${HOSTILE},,`,
  'r1,request,2024-04-02,u3,,,,Dark mode please,,"[""ui"",""dark mode""]",',
  'bad1,complaint,2024-04-02,u4,,,,,,,', // line 6 (t1's body spans lines 2–3): unknown kind
  'bad2,nps,30/09/2021,u5,,,7,,,,', // line 7: not ISO
  'bad3,nps,2024-04-03,u6,,,11,,,,', // line 8: score out of range
  ',ticket,2024-04-03,u7,,,,,,,', // line 9: no id
  'bad5,ticket,2024-04-03', // line 10: too few columns
  'i1,interview,2024-04-04T10:00:00,u8,,org-a,,Call with Acme,notes,"a, b",',
].join('\n');

describe('importFeedback: CSV', () => {
  it('keeps every good record, reports and writes each bad one', async () => {
    const report = await importFeedback(e, file('feedback.csv', CSV), { rejectsDir: dir });
    // 9 records: t1 n1 r1 i1 good; bad1, bad2, bad3, (no id), bad5 rejected.
    expect(report.records).toBe(9);
    expect(report.inserted).toBe(4);
    expect(report.duplicates).toBe(0);
    expect(report.rejected).toEqual([
      { line: 6, field: 'kind', reason: expect.stringContaining('must be one of') as string },
      { line: 7, field: 'created_at', reason: expect.stringContaining('ISO 8601') as string },
      { line: 8, field: 'score', reason: expect.stringContaining('0–10') as string },
      { line: 9, field: 'id', reason: 'missing' },
      { line: 10, reason: 'has 3 columns, the header has 11' },
    ]);
    const rejects = readFileSync(report.rejectsFile as string, 'utf8').split('\n');
    // The header (so the file re-imports once fixed), then the 5 bad lines verbatim.
    expect(rejects[0]).toBe(CSV.split('\n')[0]);
    expect(rejects.slice(1, 6)).toEqual(CSV.split('\n').slice(5, 10));

    const rows = await stored();
    expect(rows.map((r) => r.id)).toEqual(['i1', 'n1', 'r1', 't1']);
    const [i1, n1, r1, t1] = rows as [Stored, Stored, Stored, Stored];
    // Multi-line quoted text with commas and quotes survives exactly.
    expect(t1.body).toBe('CSV export, "quoted", fails\non two lines');
    expect(t1.tags).toEqual(['bug', 'export']);
    expect(t1.created_at).toBe('2024-03-31T23:59:59.000Z');
    expect(t1.status).toBe('open');
    // Kind is case-insensitive; +02:00 normalizes to UTC (the previous day, in March).
    expect(n1.kind).toBe('nps');
    expect(n1.created_at).toBe('2024-03-31T22:00:00.000Z');
    expect(n1.score).toBe(9);
    expect(n1.body).toBe(HOSTILE);
    // A JSON array in a CSV cell; a date alone is midnight UTC; empty cells are null.
    expect(r1.tags).toEqual(['ui', 'dark mode']);
    expect(r1.created_at).toBe('2024-04-02T00:00:00.000Z');
    expect(r1.organization).toBeNull();
    expect(r1.score).toBeNull();
    expect(i1.tags).toEqual(['a', 'b']);
    expect(i1.created_at).toBe('2024-04-04T10:00:00.000Z');
  });

  it('is idempotent on id: a re-import updates and never duplicates', async () => {
    const f = file('feedback.csv', CSV);
    await importFeedback(e, f, { rejectsDir: dir });
    const again = await importFeedback(e, f, { rejectsDir: dir });
    expect(again.inserted).toBe(0);
    expect(again.duplicates).toBe(4);
    expect(await stored()).toHaveLength(4);

    // The ticket is closed later: the same id, a new status and closed_at.
    const update = file(
      'update.csv',
      'id,kind,created_at,status,closed_at\nt1,ticket,2024-03-31T23:59:59Z,closed,2024-04-10T08:00:00Z\nt2,ticket,2024-04-11,open,\n',
    );
    const r = await importFeedback(e, update, { rejectsDir: dir });
    // t1 changed (status, closed_at): an update, not a duplicate.
    expect([r.inserted, r.updated, r.duplicates, r.rejected.length]).toEqual([1, 1, 0, 0]);
    const rows = await stored();
    expect(rows).toHaveLength(5);
    const t1 = rows.find((x) => x.id === 't1') as Stored;
    expect([t1.status, t1.closed_at, t1.body]).toEqual(['closed', '2024-04-10T08:00:00.000Z', null]);
  });

  it('an id repeated within one file keeps its last record', async () => {
    const f = file(
      'dup.csv',
      'id,kind,created_at,title\nx,ticket,2024-01-01,first\nx,ticket,2024-01-02,second\n',
    );
    const r = await importFeedback(e, f, { rejectsDir: dir });
    expect([r.records, r.inserted, r.duplicates]).toEqual([2, 1, 1]);
    expect((await stored()).map((x) => x.title)).toEqual(['second']);
  });

  it('a header without a required column is one input error naming it', async () => {
    const f = file('nohead.csv', 'id,type,created_at\n1,ticket,2024-01-01\n');
    await expect(importFeedback(e, f)).rejects.toThrow(InputError);
    await expect(importFeedback(e, f)).rejects.toThrow(/nohead\.csv:1, field 'kind'/);
  });

  it('rejects records with bytes that are not UTF-8, keeps the rest', async () => {
    const bytes = Buffer.concat([
      Buffer.from('id,kind,created_at,body\na,ticket,2024-01-01,fine\nb,ticket,2024-01-01,caf'),
      Buffer.from([0xe9, 0x0a]),
    ]);
    const r = await importFeedback(e, file('latin1.csv', bytes), { rejectsDir: dir });
    expect(r.inserted).toBe(1);
    expect(r.rejected).toEqual([{ line: 3, reason: 'not valid UTF-8' }]);
  });
});

describe('importFeedback: JSON Lines', () => {
  it('reads objects per line, gzip too, and rejects broken lines', async () => {
    const lines = [
      JSON.stringify({
        id: 1,
        kind: 'nps',
        created_at: '2024-05-31T23:59:59.999Z',
        distinct_id: 'u1',
        score: 0,
      }),
      '{"id": "2", "kind": "ticket", "created_at": "2024-05-01T00:00:00Z"', // line 2: truncated
      '',
      '["not", "an", "object"]', // line 4
      JSON.stringify({
        id: 'r',
        kind: 'request',
        created_at: '2024-05-02T12:00:00Z',
        tags: ['sso', 'SAML'],
        title: 5,
      }),
      JSON.stringify({ id: 'q', kind: 'ticket', created_at: '2024-05-02T12:00:00Z', body: { x: 1 } }), // line 6
    ].join('\n');
    const r = await importFeedback(e, file('f.jsonl.gz', gzipSync(lines)), { rejectsDir: dir });
    // 5 non-empty lines: 2 good (1, r), 3 bad.
    expect([r.records, r.inserted]).toEqual([5, 2]);
    expect(r.rejected.map((x) => [x.line, x.field])).toEqual([
      [2, undefined],
      [4, undefined],
      [6, 'body'],
    ]);
    expect(r.rejectsFile).toMatch(/f\.jsonl\.gz\.\d{8}T\d{6}Z\.rejects$/);
    const rows = await stored();
    expect(rows.map((x) => [x.id, x.score, x.tags, x.title])).toEqual([
      ['1', 0, [], null],
      ['r', null, ['sso', 'SAML'], '5'],
    ]);
    expect(rows[0]?.created_at).toBe('2024-05-31T23:59:59.999Z');
  });
});

describe('importFeedback: real NHS FFT feedback', () => {
  it('imports the unambiguous records and rejects ambiguous dates and unscorable answers', async () => {
    const source = readFileSync(
      new URL('../../../test/fixtures/real/nhs-fft-feedback/fft-subset.csv', import.meta.url),
      'utf8',
    );
    const r = await importFeedback(e, file('fft.csv', convertFft(source)), { rejectsDir: dir });
    // 26 records. Ambiguous dates (both parts ≤ 12): 05/10, 02/11, 03/10 ×3, 02/06 ×2, 07/06 ×2,
    // 01/07 = 10 rejected on created_at. FFT answers 6/7 on nps rows (PTS 564, 732, 864; their
    // dates 30/09, 27/11, 31/12 are unambiguous) = 3 rejected on score. 26 − 13 = 13 stored.
    expect(r.records).toBe(26);
    expect(r.rejected.filter((x) => x.field === 'created_at')).toHaveLength(10);
    expect(r.rejected.filter((x) => x.field === 'score')).toHaveLength(3);
    expect(r.inserted).toBe(13);

    const rows = await stored();
    // m/d/Y record: NEAS S&C 2361, 10/17/2021 → 2021-10-17.
    const md = rows.find((x) => x.id === 'NEAS S&C 2361 - Q1') as Stored;
    expect(md.created_at).toBe('2021-10-17T00:00:00.000Z');
    expect([md.kind, md.score, md.organization]).toEqual(['nps', 0, 'NEAS']);
    // A multi-line free-text answer is kept byte for byte.
    const ml = rows.find((x) => x.id === 'NHFT 19 - Q2') as Stored;
    expect(ml.body).toBe('Communicated well.\nQuick and easy.');
    // A respondent's two comments (NHFT 61, 15/06/2021, Q1 "do better" → request; Q2 → nps).
    const nhft61 = rows.filter((x) => x.distinct_id === 'NHFT 61').map((x) => x.kind);
    expect(nhft61).toEqual(['request', 'nps']);
    // Theme labels with commas inside stay whole tags (JSON array in the CSV cell).
    expect(rows.flatMap((x) => x.tags ?? [])).toContain('Staff manner & personal attributes');
  });
});
