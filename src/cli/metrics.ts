import type { Command } from 'commander';
import { directContext } from '../app/context.js';
import { monthlyMetrics } from '../app/metrics.js';
import { scopeOf } from '../app/products.js';
import { isMonth, lastCompleteMonth } from '../domain/month.js';
import type { Metric } from '../domain/review.js';
import { InputError } from '../errors.js';
import { commandConfig, globalOptions, withEngine } from './context.js';

interface MetricsOptions {
  month?: string;
  product: string;
  months: string;
}

function formatValue(m: Metric, v: number | null): string {
  if (v === null) return '—';
  if (m.unit === 'ratio') return (v * 100).toFixed(1) + '%';
  if (m.unit === 'currency')
    return v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** A plain table: one row per metric, months as columns. */
export function metricsTable(metrics: Metric[]): string {
  const months = metrics[0]?.series.map((p) => p.month) ?? [];
  const rows = [
    ['metric', ...months],
    ...metrics.map((m) => [m.id, ...m.series.map((p) => formatValue(m, p.value))]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** `sextant metrics --month M [--product P] [--months N]` (SPEC §2): every metric family's values. */
export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('the monthly metrics table (--json: the `metrics` array of the review, SPEC §5)')
    .option('--month <YYYY-MM>', 'the last month shown (default: the last complete month)')
    .option('--product <name>', "a configured product, or 'all'", 'all')
    .option('--months <n>', 'how many months, ending at --month', '13')
    .action(async (opts: MetricsOptions, cmd: Command) => {
      const month = opts.month ?? lastCompleteMonth();
      if (!isMonth(month)) throw new InputError(`expected YYYY-MM, got '${month}'`, { field: '--month' });
      const n = Number(opts.months);
      if (!Number.isInteger(n) || n < 1 || n > 120) {
        throw new InputError(`expected a whole number from 1 to 120, got '${opts.months}'`, {
          field: '--months',
        });
      }
      const config = commandConfig(cmd);
      scopeOf(config, opts.product, '--product');
      const metrics = await withEngine(cmd, (engine) =>
        monthlyMetrics(directContext(engine, config), { month, product: opts.product, months: n }),
      );
      if (globalOptions(cmd).json) process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
      else process.stdout.write(metricsTable(metrics) + '\n');
    });
}
