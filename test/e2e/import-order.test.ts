/**
 * Same data, any import order, same review (issue 15, item 7). One generated company is imported
 * into fresh stores in several orders — the Stripe files one by one in other orders, the feedback
 * files reversed, the events shuffled and split into several files (plain and gzip) interleaved
 * with the rest, and in the later orders the rows inside every Stripe and feedback file shuffled
 * too — and each store's review (the company and one product: metrics, anomalies, all five deep
 * dives, highlights, launches, data coverage) must render to the same bytes: review.json,
 * review.md and index.html (generatedAt is fixed, so nothing may differ).
 *
 * 150 organizations: the smallest demo found whose data holds a tie that import order used to
 * break differently (a customer with two plans of equal MRR: the churn drivers' "plan" counts
 * moved by one).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { writeDemoFiles, type DemoFiles } from '../../src/demo/generate.js';
import { Random } from '../../src/demo/random.js';
import { importFeedback } from '../../src/ingest/feedback/import.js';
import { importEvents } from '../../src/ingest/posthog/import-events.js';
import type { ImportReport } from '../../src/ingest/report.js';
import { importStripe, importStripeFile } from '../../src/ingest/stripe/import.js';
import { renderHtml } from '../../src/render/html.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { buildReview } from '../../src/review/build.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';

const NOW = new Date('2026-12-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'sextant-import-order-'));
let files: DemoFiles;
let config: Config;
let lines: string[];
let stripe: string[];

beforeAll(async () => {
  files = await writeDemoFiles({
    outDir: join(dir, 'demo'),
    seed: 7,
    orgs: 150,
    events: 1,
    until: '2026-11-05',
  });
  config = loadConfig(files.config);
  lines = gunzipSync(readFileSync(files.events)).toString('utf8').split('\n').filter(Boolean);
  stripe = readdirSync(files.stripe)
    .sort()
    .map((f) => join(files.stripe, f));
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shuffled<T>(xs: readonly T[], r: Random): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The events, shuffled, dealt into `parts` files (every other one gzip). */
function eventParts(name: string, parts: number, r: Random): string[] {
  const all = shuffled(lines, r);
  return Array.from({ length: parts }, (_, p) => {
    const body = all.filter((_, i) => i % parts === p).join('\n') + '\n';
    const gzip = p % 2 === 1;
    const file = join(dir, `${name}-${p}.jsonl${gzip ? '.gz' : ''}`);
    writeFileSync(file, gzip ? gzipSync(body) : body);
    return file;
  });
}

/** A copy of a JSONL file with its lines in another order. */
function shuffledJsonl(file: string, name: string, r: Random): string {
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const out = join(dir, name);
  writeFileSync(out, shuffled(rows, r).join('\n') + '\n');
  return out;
}

/** A copy of a CSV file with its records (quoted newlines kept whole) in another order. */
function shuffledCsv(file: string, name: string, r: Random): string {
  const records = parse(readFileSync(file, 'utf8'), { raw: true }) as { raw: string }[];
  const [header, ...rows] = records.map((x) => x.raw.replace(/\r?\n$/, ''));
  const out = join(dir, name);
  writeFileSync(out, [header, ...shuffled(rows, r)].join('\n') + '\n');
  return out;
}

/** The Stripe folder and the feedback files, each file's rows shuffled (same file names). */
function shuffledSources(name: string, r: Random): { stripe: string[]; feedback: string[] } {
  const folder = join(dir, `${name}-stripe`);
  mkdirSync(folder, { recursive: true });
  return {
    stripe: stripe.map((f) => shuffledJsonl(f, join(`${name}-stripe`, basename(f)), r)),
    feedback: files.feedback.map((f) =>
      f.endsWith('.csv')
        ? shuffledCsv(f, `${name}-${basename(f)}`, r)
        : shuffledJsonl(f, `${name}-${basename(f)}`, r),
    ),
  };
}

type Step = (e: DuckDbEngine) => Promise<ImportReport | ImportReport[]>;
const events =
  (f: string): Step =>
  (e) =>
    importEvents(e, f);
const billing =
  (f: string): Step =>
  (e) =>
    importStripeFile(e, f);
const feedback =
  (f: string): Step =>
  (e) =>
    importFeedback(e, f, { rejectsDir: join(dir, 'rejects') });

/** The orders: name → the import steps, in order. */
function orders(): [string, Step[]][] {
  const r = new Random(20261205);
  const [fb1, fb2] = files.feedback as [string, string];
  const whole = join(dir, 'events.jsonl');
  writeFileSync(whole, lines.join('\n') + '\n');
  const reversed = eventParts('reversed', 2, r);
  const rows = shuffledSources('rows', r);
  const [rfb1, rfb2] = rows.feedback as [string, string];
  const mixed = shuffled(
    [...eventParts('mixed', 4, r).map(events), ...rows.stripe.map(billing), feedback(rfb2)],
    r,
  );
  const rows2 = shuffledSources('rows2', r);
  return [
    [
      'as written: events, Stripe files, feedback',
      [events(whole), ...stripe.map(billing), feedback(fb1), feedback(fb2)],
    ],
    [
      'reversed: feedback and Stripe files backwards, then shuffled events in 2 files',
      [feedback(fb2), feedback(fb1), ...[...stripe].reverse().map(billing), ...reversed.map(events)],
    ],
    [
      'interleaved: 4 shuffled event files among the Stripe folder, row-shuffled Stripe files and feedback',
      [feedback(rfb1), (e) => importStripe(e, files.stripe), ...mixed],
    ],
    [
      'rows shuffled inside every file: Stripe files backwards, feedback, then events in 3 files',
      [
        ...[...rows2.stripe].reverse().map(billing),
        ...[...rows2.feedback].reverse().map(feedback),
        ...eventParts('rows2', 3, r).map(events),
      ],
    ],
  ];
}

/** The company and its first configured product. */
const products = (): string[] => ['all', ...config.products.slice(0, 1).map((p) => p.name)];

async function documents(steps: Step[]): Promise<Map<string, string>> {
  const engine = await DuckDbEngine.open(':memory:');
  try {
    await engine.migrate();
    for (const step of steps) {
      const reports = [await step(engine)].flat();
      for (const rep of reports) expect(rep.rejected, rep.file).toEqual([]);
    }
    const out = new Map<string, string>();
    for (const product of products()) {
      const review = await buildReview({ engine, config, product, month: files.month, now: NOW });
      out.set(`${product}/review.json`, renderJson(review));
      const md = renderMarkdown(review);
      out.set(`${product}/review.md`, md.markdown);
      for (const f of md.files) out.set(`${product}/${f.path}`, f.svg);
      out.set(`${product}/index.html`, renderHtml(review));
    }
    return out;
  } finally {
    await engine.close();
  }
}

describe('the same files imported in other orders', () => {
  it('give byte-identical reviews', async () => {
    const [first, ...rest] = orders();
    const want = await documents(first![1]);
    // The comparison covers every part of the review: each is there and not empty.
    for (const product of products()) {
      const review = JSON.parse(want.get(`${product}/review.json`)!) as Record<string, unknown[]> & {
        dataCoverage: { status: string };
      };
      expect(review.deepDives, product).toHaveLength(5);
      expect(review.metrics!.length, product).toBeGreaterThan(20);
      expect(review.highlights!.length, product).toBeGreaterThan(0);
      expect(review.launches!.length, product).toBeGreaterThan(0);
      expect(review.dataCoverage.status, product).toBe('complete');
    }
    const anomalies = products().map(
      (p) => (JSON.parse(want.get(`${p}/review.json`)!) as { anomalies: unknown[] }).anomalies.length,
    );
    expect(Math.max(...anomalies), 'some review holds anomalies').toBeGreaterThan(0);
    for (const [name, steps] of rest) {
      const got = await documents(steps);
      for (const [doc, text] of want) {
        // Compare line by line first: a failure then names the first line that differs.
        const a = text.split('\n');
        const b = got.get(doc)!.split('\n');
        const at = a.findIndex((l, i) => l !== b[i]);
        expect(at === -1 ? null : { line: at + 1, want: a[at], got: b[at] }, `${name}: ${doc}`).toBeNull();
        expect(got.get(doc) === text, `${name}: ${doc}`).toBe(true);
      }
    }
  }, 900_000);
});
