/**
 * Revenue benchmark (issue 4): the revenue metric family for 13 months over 100,000 subscriptions
 * and about 2M invoice lines, target under 5 s on 2 cores.
 *
 * The billing rows are generated set-based inside DuckDB with `range()` (this benchmark is
 * DuckDB-only): 80,000 customers, 100,000 subscriptions on 50 prices (90% monthly, 10% annual,
 * some with 2–5 seats), one invoice per line; monthly subscriptions bill 23 months from a start
 * month spread over 2023-01..2023-05; every 7th upgrades after ten months, every 13th cancels after
 * twelve, every 10th invoice of some customers is void, and a few lines are prorations. The store
 * is kept under `opts.dir` and reused between runs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from '../config/schema.js';
import { monthsEndingAt } from '../domain/month.js';
import { revenueFamily } from '../metrics/revenue/revenue.js';
import { ALL_PRODUCTS } from '../metrics/types.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { medianSeconds } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';

const RUNS = 3;
const TARGET_SECONDS = 5;
const SUBSCRIPTIONS = 100_000;
const LINES_PER_MONTHLY = 23;

async function openStore(opts: BenchOptions): Promise<{ e: DuckDbEngine; lines: number }> {
  const file = join(opts.dir, `revenue-${SUBSCRIPTIONS}.duckdb`);
  const fresh = !existsSync(file);
  const e = await DuckDbEngine.open(file);
  await e.migrate();
  const count = async (): Promise<number> =>
    Number((await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM billing_invoice_lines')))[0]?.n ?? 0);
  if (fresh || (await count()) === 0) {
    opts.log(`   generating ${SUBSCRIPTIONS.toLocaleString('en')} subscriptions and their invoice lines…`);
    await e.exec(
      raw(`
      INSERT INTO billing_prices
        SELECT 'price_' || i, 'prod_' || (i % 2), 'Plan ' || i, 'USD', 1000 + i * 500,
          CASE WHEN i % 10 = 9 THEN 'year' ELSE 'month' END, 1, 'licensed', NULL
        FROM range(50) t(i);
      INSERT INTO billing_customers (id, email, name, currency, metadata, created, deleted)
        SELECT 'cus_' || i, 'billing@org' || i || '.example', 'Org ' || i, 'usd',
          '{"group_key":"org_' || i || '"}', TIMESTAMPTZ '2023-01-01', false
        FROM range(80000) t(i);
      CREATE OR REPLACE TEMP TABLE bench_subs AS
        SELECT s, 'sub_' || s AS id, 'cus_' || (s % 80000) AS customer, s % 50 AS price,
          (s % 50) % 10 = 9 AS annual, 1 + (s % 5) * (s % 3 = 0)::INT AS seats,
          TIMESTAMPTZ '2023-01-01' + to_months(CAST(s % 5 AS INTEGER)) AS start_at
        FROM range(${SUBSCRIPTIONS}) t(s);
      INSERT INTO billing_subscriptions (id, customer_id, status, created, start_date, currency)
        SELECT id, customer, CASE WHEN s % 13 = 0 THEN 'canceled' ELSE 'active' END, start_at, start_at, 'usd'
        FROM bench_subs;
      CREATE OR REPLACE TEMP TABLE bench_lines AS
        SELECT b.*, k,
          b.start_at + to_months(CAST(CASE WHEN b.annual THEN 12 * k ELSE k END AS INTEGER)) AS ps,
          b.start_at + to_months(CAST(CASE WHEN b.annual THEN 12 * (k + 1) ELSE k + 1 END AS INTEGER)) AS pe
        FROM bench_subs b, range(${LINES_PER_MONTHLY}) r(k)
        WHERE (NOT b.annual OR k < 2) AND NOT (b.s % 13 = 0 AND k >= 12);
      INSERT INTO billing_invoices (id, customer_id, subscription_id, status, currency, created, period_start, period_end, paid_at, subtotal, tax, total, amount_paid, billing_reason)
        SELECT 'in_' || s || '_' || k, customer, id,
          CASE WHEN s % 10 = 3 AND k % 10 = 5 THEN 'void' ELSE 'paid' END, 'usd', ps, ps, ps, ps,
          0, 0, 0, 0, 'subscription_cycle'
        FROM bench_lines;
      INSERT INTO billing_invoice_lines (id, invoice_id, customer_id, subscription_id, subscription_item_id, product, price_id, plan, currency, amount, discount_amount, tax_amount, period_start, period_end, interval, interval_count, quantity, proration, usage_type, line_type, invoice_status)
        SELECT 'il_' || s || '_' || k, 'in_' || s || '_' || k, customer, id, 'si_' || s, 'prod_' || (price % 2),
          'price_' || price, 'Plan ' || price, 'usd',
          (1000 + price * 500) * (CASE WHEN annual THEN 12 ELSE 1 END) * (seats + (s % 7 = 0 AND k >= 10)::INT),
          CASE WHEN s % 11 = 0 AND k < 3 THEN 200 ELSE 0 END, 0, ps, pe,
          CASE WHEN annual THEN 'year' ELSE 'month' END, 1, seats + (s % 7 = 0 AND k >= 10)::INT,
          false, 'licensed', 'subscription',
          CASE WHEN s % 10 = 3 AND k % 10 = 5 THEN 'void' ELSE 'paid' END
        FROM bench_lines;
      DROP TABLE bench_lines; DROP TABLE bench_subs;`),
    );
  }
  return { e, lines: await count() };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const { e, lines } = await openStore(opts);
  try {
    const config = configSchema.parse({});
    const months = monthsEndingAt('2024-06', 13);
    const compute = () => revenueFamily.compute({ engine: e, config, product: ALL_PRODUCTS, months });
    await compute(); // warm-up: file pages into the cache
    // CPU seconds of this process (DuckDB's threads included) per run: on a busy shared machine
    // wall time mostly measures the neighbours; CPU time shows the work itself.
    const cpu0 = process.cpuUsage();
    const { median } = await medianSeconds(RUNS, compute);
    const cpu = process.cpuUsage(cpu0);
    const cpuSecondsPerRun = (cpu.user + cpu.system) / 1e6 / RUNS;
    return [
      {
        name: `revenue metrics, 13 months, ${SUBSCRIPTIONS / 1000}k subscriptions`,
        medianSeconds: median,
        runs: RUNS,
        figures: { subscriptions: SUBSCRIPTIONS, invoiceLines: lines, cpuSecondsPerRun },
        target: `< ${TARGET_SECONDS} s on 2 cores`,
        met: median < TARGET_SECONDS,
      },
    ];
  } finally {
    await e.close();
  }
}
