/**
 * What every `sextant import …` prints (docs/ingest.md, "What the CLI prints"): one line per file
 * on stdout with its ledger counts; warnings on stderr; when records were rejected, a summary on
 * stderr (counts per reason, the first few bad records, where all of them were written) rather
 * than one line per bad record (`--verbose` prints each), then exit 2.
 */
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import type { ImportReport, RejectedRecord } from '../ingest/report.js';
import type { GlobalOptions } from './context.js';

/** How many bad records the summary shows in full. */
export const FIRST_SHOWN = 5;

/** Where rejects files go: `rejects/` beside a DuckDB file, else `.sextant/rejects/`. */
export function rejectsDirFor(g: GlobalOptions): string {
  return join(/^[a-z]+:\/\//.test(g.db) || g.db.startsWith('chdb:') ? '.sextant' : dirname(g.db), 'rejects');
}

const n = (x: number): string => x.toLocaleString('en-US');

/** `f.csv: 10 records: 4 new, 1 updated, 2 duplicates (2 subscription key, unchanged), 1 skipped (1 charge), 2 rejected` */
export function reportLine(r: ImportReport): string {
  const parts = [`${n(r.inserted)} new`, `${n(r.updated)} updated`];
  const rules = Object.entries(r.duplicateRules);
  parts.push(
    `${n(r.duplicates)} duplicate${r.duplicates === 1 ? '' : 's'}` +
      (rules.length ? ` (${rules.map(([rule, k]) => `${n(k)} ${rule}`).join('; ')})` : ''),
  );
  const skipped = Object.entries(r.skipped ?? {});
  if (skipped.length) {
    const total = skipped.reduce((a, [, k]) => a + k, 0);
    parts.push(`${n(total)} skipped (${skipped.map(([t, k]) => `${n(k)} ${t}`).join(', ')})`);
  }
  parts.push(`${n(r.rejected.length)} rejected`);
  return `${r.file}: ${n(r.records)} record${r.records === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/**
 * A reason without its particulars, to count bad records by kind: the Stripe object named in
 * front and the offending value after `: ` or `, got` are dropped.
 */
export function reasonClass(x: RejectedRecord): string {
  const reason = x.reason.replace(/^[a-z_.]+ \S+: (?=.)/, '').split(/: |, got /)[0]!;
  return (x.field ? `field '${x.field}': ` : '') + reason;
}

const where = (file: string, x: RejectedRecord): string =>
  `${file}:${x.line}${x.field ? `, field '${x.field}'` : ''}: ${x.reason}`;

/** The stderr summary of one file's rejected records. */
export function rejectsSummary(r: ImportReport, verbose: boolean): string[] {
  const out: string[] = [];
  const total = r.rejected.length;
  out.push(
    `sextant: ${r.file}: ${n(total)} of ${n(r.records)} records rejected` +
      (r.rejectsFile ? `, all written to ${r.rejectsFile}` : '') +
      ':',
  );
  const byReason = new Map<string, { count: number; first: number }>();
  for (const x of r.rejected) {
    const k = reasonClass(x);
    const c = byReason.get(k);
    if (c) c.count++;
    else byReason.set(k, { count: 1, first: x.line });
  }
  const width = n(Math.max(...[...byReason.values()].map((c) => c.count))).length;
  for (const [k, c] of [...byReason].sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first)) {
    out.push(`  ${n(c.count).padStart(width)} × ${k} (first: line ${c.first})`);
  }
  const shown = verbose ? r.rejected : r.rejected.slice(0, FIRST_SHOWN);
  out.push(verbose || total <= FIRST_SHOWN ? '  the bad records:' : `  the first ${FIRST_SHOWN}:`);
  for (const x of shown) out.push('    ' + where(r.file, x));
  if (shown.length < total)
    out.push(`    … and ${n(total - shown.length)} more (--verbose prints every one)`);
  return out;
}

/**
 * Prints the reports (stdout; `--json`: the reports as JSON) and their warnings (stderr); when
 * any record was rejected, prints each file's summary and throws an InputError (exit 2) naming
 * the first bad record.
 */
export function finishImport(g: GlobalOptions, reports: readonly ImportReport[]): void {
  if (g.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  else for (const r of reports) process.stdout.write(reportLine(r) + '\n');
  for (const r of reports)
    for (const w of r.warnings ?? []) process.stderr.write(`sextant: ${r.file}: warning: ${w}\n`);
  const bad = reports.filter((r) => r.rejected.length > 0);
  const worst = bad[0];
  const first = worst?.rejected[0];
  if (!worst || !first) return;
  for (const r of bad) for (const line of rejectsSummary(r, g.verbose)) process.stderr.write(line + '\n');
  const total = bad.reduce((k, r) => k + r.rejected.length, 0);
  const files = bad.map((r) => r.rejectsFile).filter((f) => f !== undefined);
  throw new InputError(
    `${first.reason} (${n(total)} bad record${total === 1 ? '' : 's'} in all` +
      (files.length ? `; written to ${files.join(', ')})` : ')'),
    { file: worst.file, line: first.line, field: first.field },
  );
}
