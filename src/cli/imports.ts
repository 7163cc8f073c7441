import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { listImports, type LedgerRow } from '../ingest/ledger.js';
import { globalOptions, withEngine } from './context.js';

const IMPORT_KINDS: readonly string[] = ['events', 'stripe', 'subscriptions', 'feedback'];

export interface LedgerTotal {
  imports: number;
  records: number;
  inserted: number;
  updated: number;
  duplicates: number;
  skipped: number;
  rejected: number;
  /** Imports without `finished_at`: interrupted (or running). */
  unfinished: number;
}

/** The ledger's sums; counts a row written before the ledger had them (null) as 0. */
export function ledgerTotal(rows: readonly LedgerRow[]): LedgerTotal {
  const t: LedgerTotal = {
    imports: rows.length,
    records: 0,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    skipped: 0,
    rejected: 0,
    unfinished: 0,
  };
  for (const r of rows) {
    t.records += r.records;
    t.inserted += r.inserted;
    t.updated += r.updated ?? 0;
    t.duplicates += r.duplicates ?? 0;
    t.skipped += r.skipped ?? 0;
    t.rejected += r.rejected;
    if (r.finishedAt === null) t.unfinished++;
  }
  return t;
}

const count = (n: number | null): string => (n === null ? '?' : String(n));

/** `2026-01-05T10:11:12.345Z` → `2026-01-05 10:11:12Z`. */
const when = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** A plain table: one line per import, oldest first, then the total line. */
export function importsTable(rows: readonly LedgerRow[]): string {
  const head = [
    'imported at (UTC)',
    'kind',
    'records',
    'new',
    'updated',
    'duplicates',
    'skipped',
    'rejected',
    'file',
  ];
  const lines = rows.map((r) => [
    when(r.importedAt) + (r.finishedAt === null ? ' (unfinished)' : ''),
    r.kind,
    String(r.records),
    String(r.inserted),
    count(r.updated),
    count(r.duplicates) + rulesText(r.duplicateRules),
    count(r.skipped),
    String(r.rejected) + (r.rejectsFile ? ` → ${r.rejectsFile}` : ''),
    r.source,
  ]);
  const t = ledgerTotal(rows);
  const total = [
    `total: ${t.imports} import${t.imports === 1 ? '' : 's'}` +
      (t.unfinished ? ` (${t.unfinished} unfinished)` : ''),
    '',
    String(t.records),
    String(t.inserted),
    String(t.updated),
    String(t.duplicates),
    String(t.skipped),
    String(t.rejected),
    '',
  ];
  const table = [head, ...lines, total];
  const numeric = new Set([2, 3, 4, 6]);
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return table
    .map((r) =>
      r
        .map((c, i) =>
          i === r.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function rulesText(rules: Record<string, number> | null): string {
  const entries = Object.entries(rules ?? {});
  if (entries.length === 0) return '';
  return ` (${entries.map(([rule, n]) => `${n} ${rule}`).join(', ')})`;
}

/** `sextant imports [--kind K]`: the import ledger, what was imported when, from which file. */
export function registerImports(program: Command): void {
  program
    .command('imports')
    .description(
      'the import ledger: every import, oldest first, with its counts (records = new + updated + duplicates + skipped + rejected) and a total line',
    )
    .option('--kind <kind>', 'only imports of this kind: events, stripe, subscriptions or feedback')
    .action(async (opts: { kind?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (opts.kind !== undefined && !IMPORT_KINDS.includes(opts.kind)) {
        throw new InputError(`expected one of ${IMPORT_KINDS.join(', ')}, got '${opts.kind}'`, {
          field: '--kind',
        });
      }
      const rows = await withEngine(cmd, (engine) => listImports(engine, { kind: opts.kind }));
      if (g.json) {
        process.stdout.write(JSON.stringify({ imports: rows, total: ledgerTotal(rows) }, null, 2) + '\n');
        return;
      }
      process.stdout.write(rows.length ? importsTable(rows) + '\n' : 'no imports yet\n');
    });
}
