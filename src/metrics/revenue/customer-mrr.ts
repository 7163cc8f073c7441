/**
 * Per-customer month-end MRR and its movement, the one query every revenue metric reads.
 * Definitions and the sources they follow (ChartMogul, Baremetrics): docs/metrics.md#revenue.
 *
 * Method, in one statement written against the dialect:
 * 1. Coverage: every source becomes rows "this customer pays `rate` per month in `currency` for
 *    product P from `valid_from` to `valid_to`":
 *    - recurring licensed invoice lines (void, uncollectible and draft invoices excluded; with
 *      billing.mrrFrom = paid only paid invoices, from when they were paid). A line's amount net of
 *      discounts is normalized to a month (annual ÷ 12, quarterly ÷ 3, weekly × 52/12); proration
 *      lines count at their price's full rate with their sign, so a plan change shows from the
 *      change (old −, new +) while the proration money itself is never MRR;
 *    - subscription states from `customer.subscription.*` events, only at month-ends where the
 *      subscription has no invoice line (gap filling);
 *    - the generic subscription CSV, which replaces Stripe data for the customers it names.
 * 2. A customer's MRR at the end of month m is the sum of rates covering the instant the month
 *    ends, converted into reporting.currency minor units and rounded once per customer-month.
 * 3. Movements compare a customer's month-end MRR with the previous month-end, so
 *    MRR(m) = MRR(m−1) + new + expansion + reactivation − contraction − churned holds exactly.
 */
import type { Config } from '../../config/schema.js';
import {
  addMonths,
  monthEnd,
  monthOf,
  monthsBetween,
  monthsEndingAt,
  monthStart,
  type Month,
} from '../../domain/month.js';
import { InputError } from '../../errors.js';
import { dataRanges } from '../data-range.js';
import type { Dialect } from '../../store/dialect.js';
import { inBuildScope, sharedInBuild } from '../../store/build-scope.js';
import type { Engine } from '../../store/engine.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import type { ProductScope } from '../types.js';

export type Movement = 'new' | 'expansion' | 'contraction' | 'churned' | 'reactivation' | 'flat' | 'none';

export interface RevenueScope {
  engine: Engine;
  config: Config;
  product: ProductScope;
  months: Month[];
  /** Also pick each customer-month's main plan, currency and interval (the timeline does). */
  details?: boolean;
  /**
   * The data's end (metrics/data-range.ts; computed from the store when absent): the month holding
   * it is measured at that instant instead of its end, later months have no rows.
   */
  asOf?: Date | null;
}

/** Currencies whose minor unit is the major unit (ISO 4217 exponent 0). */
const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'JPY',
  'KMF',
  'KRW',
  'MGA',
  'PYG',
  'RWF',
  'UGX',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);

export function minorPerMajor(currency: string): number {
  return ZERO_DECIMAL.has(currency.toUpperCase()) ? 1 : 100;
}

// Within every engine's range (ClickHouse's DateTime64 ends in 2299).
const FAR_FUTURE = '2200-01-01T00:00:00Z';

/** Months per one `interval` → the factor that turns an amount per interval into per month. */
function sqlMonthlyFactor(interval: Sql, count: Sql): Sql {
  return sql`(CASE ${interval} WHEN 'month' THEN 1.0 WHEN 'year' THEN 1.0 / 12 WHEN 'week' THEN 52.0 / 12 WHEN 'day' THEN 365.0 / 12 ELSE 0.0 END / greatest(coalesce(${count}, 1), 1))`;
}

function sqlProductFilter(product: ProductScope, column: Sql): Sql {
  if (product.name === 'all') return raw('true');
  if (product.stripeProducts.length === 0) return raw('false');
  return sql`${column} IN (${join(product.stripeProducts.map((p) => sql`${p}`))})`;
}

/**
 * The organization of each billing customer: the configured path (billing.link, e.g.
 * `metadata.group_key`) in the customer object, else the organization group whose
 * `email_domain` equals the customer email's domain. Resolved at query time, so import order
 * does not matter.
 */
export function sqlCustomerOrganizations(d: Dialect, config: Config): Sql {
  const path = config.billing.link.split('.');
  const linked =
    path[0] === 'metadata' && path.length > 1
      ? d.sqlJsonString(raw('c.metadata'), path.slice(1))
      : d.sqlJsonString(raw('c.raw'), path);
  return sql`
    SELECT c.id AS customer_id, coalesce(nullif(${linked}, ''), (
      SELECT min(g.group_key) FROM groups g
      WHERE g.group_type = 'organization'
        AND lower(${d.sqlJsonString(raw('g.properties'), ['email_domain'])}) = lower(substring(c.email, position('@' IN c.email) + 1))
    )) AS organization, c.name AS name
    FROM billing_customers c`;
}

/** Invoice-line coverage (see the file comment). */
function sqlLineCoverage(d: Dialect, config: Config): Sql {
  // The line's own invoice status and customer are copied from its invoice at import; the invoice
  // is joined only for when it was paid.
  const paid = config.billing.mrrFrom === 'paid';
  const atCancel = config.billing.churnAt === 'cancellation';
  const statuses = config.billing.mrrFrom === 'paid' ? raw(`('paid')`) : raw(`('open', 'paid')`);
  const from =
    config.billing.mrrFrom === 'paid'
      ? raw('greatest(r.period_start, coalesce(r.paid_at, r.period_start))')
      : raw('r.period_start');
  const to =
    config.billing.churnAt === 'cancellation'
      ? raw('least(r.period_end, coalesce(s.canceled_at, s.ended_at, r.period_end))')
      : raw('r.period_end');
  const factor = sqlMonthlyFactor(raw('r.interval'), raw('r.interval_count'));
  return sql`
    SELECT r.customer_id, r.subscription_id, r.product, r.plan, r.currency, r.interval,
      ${d.sqlIf(
        raw('r.proration'),
        sql`sign(r.amount) * coalesce(r.unit_amount * abs(coalesce(r.quantity, 1)), 0) * (1 - coalesce(${d.sqlSafeDivide(raw('r.discount_amount'), raw('r.amount'))}, 0)) * ${factor}`,
        sql`(r.amount - r.discount_amount) * ${factor}`,
      )} AS rate,
      ${from} AS valid_from, ${to} AS valid_to, 'line' AS kind
    FROM (
      SELECT ${paid ? raw('coalesce(l.customer_id, i.customer_id)') : raw('l.customer_id')} AS customer_id, l.subscription_id AS subscription_id,
        coalesce(l.product, p.product) AS product,
        coalesce(l.plan, p.nickname, pr.name, l.price_id, si.price_id) AS plan,
        upper(l.currency) AS currency,
        coalesce(l.interval, p.interval) AS interval,
        coalesce(l.interval_count, p.interval_count, 1) AS interval_count,
        coalesce(l.usage_type, p.usage_type, 'licensed') AS usage_type,
        l.proration AS proration, l.amount AS amount, l.discount_amount AS discount_amount,
        l.quantity AS quantity, p.unit_amount AS unit_amount,
        l.period_start AS period_start, l.period_end AS period_end,
        ${paid ? raw('coalesce(i.status, l.invoice_status) AS status, i.paid_at') : raw('l.invoice_status AS status')}
      FROM billing_invoice_lines l
      ${paid ? raw('LEFT JOIN billing_invoices i ON i.id = l.invoice_id') : raw('')}
      LEFT JOIN billing_subscription_items si ON si.id = l.subscription_item_id
      LEFT JOIN billing_prices p ON p.id = coalesce(l.price_id, si.price_id)
      LEFT JOIN billing_products pr ON pr.id = coalesce(l.product, p.product)
    ) r
    ${atCancel ? raw('LEFT JOIN billing_subscriptions s ON s.id = r.subscription_id') : raw('')}
    WHERE r.interval IS NOT NULL AND r.usage_type <> 'metered' AND r.status IN ${statuses}
      AND r.period_start IS NOT NULL AND r.period_end IS NOT NULL AND r.customer_id IS NOT NULL`;
}

/** Event-derived coverage: one row per state and item, split where a coupon ends. */
function sqlStateCoverage(d: Dialect, config: Config): Sql {
  const churnEnd =
    config.billing.churnAt === 'cancellation'
      ? raw('coalesce(st.canceled_at, st.ended_at)')
      : raw(`CASE WHEN st.cancel_at_period_end THEN st.current_period_end END`);
  const base = sql`
    SELECT st.customer_id AS customer_id, st.subscription_id AS subscription_id, coalesce(st.product, p.product) AS product,
      coalesce(p.nickname, pr.name, st.price_id) AS plan, upper(st.currency) AS currency,
      coalesce(st.interval, p.interval) AS interval,
      coalesce(st.unit_amount, p.unit_amount, 0) * coalesce(st.quantity, 1)
        * ${sqlMonthlyFactor(raw('coalesce(st.interval, p.interval)'), raw('coalesce(st.interval_count, p.interval_count)'))} AS full_rate,
      st.percent_off AS percent_off, st.amount_off
        * ${sqlMonthlyFactor(raw('coalesce(st.interval, p.interval)'), raw('coalesce(st.interval_count, p.interval_count)'))} AS amount_off_rate,
      st.valid_from AS valid_from,
      least(coalesce(n.next_from, ${d.sqlTimestamp(sql`${FAR_FUTURE}`)}), coalesce(st.ended_at, ${d.sqlTimestamp(sql`${FAR_FUTURE}`)}),
        coalesce(${churnEnd}, ${d.sqlTimestamp(sql`${FAR_FUTURE}`)})) AS valid_to,
      coalesce(st.discount_end, ${d.sqlTimestamp(sql`${FAR_FUTURE}`)}) AS discount_end,
      st.status AS status, coalesce(st.usage_type, p.usage_type, 'licensed') AS usage_type
    FROM billing_subscription_states st
    -- One state per subscription and instant: two events of the same second (Stripe times are
    -- whole seconds) would otherwise both count, and which came last is unknown; the greatest
    -- event id wins, whatever order the files were imported in.
    JOIN (
      SELECT subscription_id, valid_from, max(state_id) AS state_id,
        ${d.sqlLead(sql`valid_from`, sql`PARTITION BY subscription_id ORDER BY valid_from`)} AS next_from
      FROM billing_subscription_states GROUP BY subscription_id, valid_from
    ) n ON n.subscription_id = st.subscription_id AND n.valid_from = st.valid_from AND n.state_id = st.state_id
    LEFT JOIN billing_prices p ON p.id = st.price_id
    LEFT JOIN billing_products pr ON pr.id = coalesce(st.product, p.product)`;
  const discounted = raw(
    'greatest(b.full_rate * (1 - coalesce(b.percent_off, 0) / 100.0) - coalesce(b.amount_off_rate, 0), 0)',
  );
  return sql`
    SELECT customer_id, subscription_id, product, plan, currency, interval, rate, valid_from, valid_to, 'state' AS kind
    FROM (
      SELECT b.customer_id, b.subscription_id, b.product, b.plan, b.currency, b.interval,
        ${discounted} AS rate, b.valid_from, least(b.valid_to, b.discount_end) AS valid_to
      FROM (${base}) b WHERE b.status IN ('active', 'past_due', 'unpaid') AND b.usage_type <> 'metered' AND b.interval IS NOT NULL
      UNION ALL
      SELECT b.customer_id, b.subscription_id, b.product, b.plan, b.currency, b.interval,
        b.full_rate AS rate, greatest(b.valid_from, b.discount_end) AS valid_from, b.valid_to
      FROM (${base}) b WHERE b.status IN ('active', 'past_due', 'unpaid') AND b.usage_type <> 'metered' AND b.interval IS NOT NULL
        AND b.discount_end < b.valid_to
    ) s WHERE valid_from < valid_to`;
}

/** Generic CSV coverage: `amount` is per unit and interval, times quantity. */
function sqlCsvCoverage(d: Dialect): Sql {
  return sql`
    SELECT customer_id, NULL AS subscription_id, nullif(product, '') AS product, nullif(plan, '') AS plan,
      upper(currency) AS currency, interval,
      CASE WHEN lower(coalesce(status, '')) IN ('trialing', 'trial') THEN 0
        ELSE amount * quantity * ${sqlMonthlyFactor(raw('interval'), raw('interval_count'))} END AS rate,
      start_at AS valid_from, coalesce(end_at, ${d.sqlTimestamp(sql`${FAR_FUTURE}`)}) AS valid_to, 'csv' AS kind
    FROM billing_subscription_rows`;
}

/** The instants the months are measured at, as a VALUES list: (idx, month, month_end). */
function sqlMonthGrid(d: Dialect, months: Month[], endOf: (m: Month) => Date): Sql {
  return sql`(VALUES ${join(
    months.map((m, i) => sql`(${i}, ${m}, ${d.sqlTimestamp(sql`${endOf(m).toISOString()}`)})`),
  )}) AS grid(idx, month, month_end)`;
}

/** Query: the first month with any billing coverage, or null when there is none. */
export async function queryFirstBillingMonth(engine: Engine): Promise<Month | null> {
  const [row] = await engine.query<{ first: string | null }>(sql`
    SELECT min(t) AS first FROM (
      SELECT min(period_start) AS t FROM billing_invoice_lines
      UNION ALL SELECT min(valid_from) FROM billing_subscription_states
      UNION ALL SELECT min(start_at) FROM billing_subscription_rows) x`);
  return row?.first ? monthOf(new Date(row.first)) : null;
}

/** Query: the currencies of the non-zero amounts of `coverage` (columns currency, rate). */
export async function queryBillingCurrencies(engine: Engine, coverage: Sql): Promise<(string | null)[]> {
  const present = await engine.query<{ currency: string | null }>(
    sql`SELECT DISTINCT currency FROM (${coverage}) c WHERE rate <> 0`,
  );
  return present.map((r) => r.currency);
}

/**
 * Pure: fx into reporting.currency minor units per one minor unit of each currency present, as a
 * VALUES list `fx(currency, factor)`. A currency without a rate is an InputError naming the field.
 */
export function sqlFxValues(config: Config, present: readonly (string | null)[]): Sql {
  const reporting = config.reporting.currency;
  const rows: Sql[] = [];
  for (const currency of present) {
    if (currency === null) continue;
    const rate =
      currency === reporting
        ? 1
        : (config.reporting.fx[currency] ?? config.reporting.fx[currency.toLowerCase()]);
    if (rate === undefined) {
      throw new InputError(
        `billing amounts in ${currency} but reporting.fx has no rate for ${currency} (reporting currency ${reporting})`,
        { field: `reporting.fx.${currency}` },
      );
    }
    // A DOUBLE whether or not the factor is whole: ClickHouse has no common type for BIGINT and DOUBLE rows.
    rows.push(
      sql`(${currency}, CAST(${(rate * minorPerMajor(reporting)) / minorPerMajor(currency)} AS DOUBLE))`,
    );
  }
  if (rows.length === 0) rows.push(sql`(${reporting}, CAST(${1.0} AS DOUBLE))`);
  return sql`(VALUES ${join(rows)}) AS fx(currency, factor)`;
}

/** fx of the currencies present in `coverage` (a query, then the pure VALUES list). */
async function fxTable(scope: RevenueScope, coverage: Sql): Promise<Sql> {
  return sqlFxValues(scope.config, await queryBillingCurrencies(scope.engine, coverage));
}

/** Query: whether any subscription state (from Stripe subscription events) is stored: gap filling needs them. */
export async function queryHasSubscriptionStates(engine: Engine): Promise<boolean> {
  const [states] = await engine.query<{ n: number }>(
    sql`SELECT count(*) AS n FROM billing_subscription_states`,
  );
  return Number(states?.n ?? 0) > 0;
}

export interface CustomerMonthQuery {
  /** Columns: customer_id, organization, name, idx, month, mrr, prev_mrr, movement, plan, currency, interval. */
  sql: Sql;
  /** Months of the grid, oldest first: history before `months` plus `months`. */
  grid: Month[];
  /** Index in `grid` of the first requested month. */
  firstIdx: number;
  /** The first month with billing data; months before it have no revenue values. */
  firstBilling: Month | null;
  /** The month of the data's end (null: an empty store); later months have no rows, no values. */
  lastMonth: Month | null;
}

/** The months the MRR query measures and the instant each is measured at. */
export interface RevenueGrid {
  /** History before the months asked (to tell reactivation from new), then the months asked. */
  grid: Month[];
  /** Index in `grid` of the first month asked. */
  firstIdx: number;
  /** The last month asked. */
  last: Month;
  /** The month of the data's end (null: an empty store). */
  lastMonth: Month | null;
  /** The instant a month is measured at: its end, or the data's end in the month that holds it. */
  endOf: (m: Month) => Date;
}

/** Pure: the grid of `months` given the first billing month and the data's end. */
export function revenueGrid(
  months: readonly Month[],
  firstBilling: Month | null,
  asOf: Date | null,
): RevenueGrid {
  const first = months[0];
  const last = months.at(-1);
  if (first === undefined || last === undefined) throw new Error('customerMonthQuery: no months asked');
  const lastMonth = asOf === null ? null : monthOf(asOf);
  // A month holding the data's end is measured at it: at the month's own end, renewals not yet
  // invoiced would look like churn.
  const endOf = (m: Month): Date => (asOf !== null && asOf < monthEnd(m) ? asOf : monthEnd(m));
  // History back to the first billing month (capped at 10 years), and at least one month before.
  let start = addMonths(first, -1);
  if (firstBilling && firstBilling < start)
    start = firstBilling < addMonths(last, -120) ? addMonths(last, -120) : firstBilling;
  const grid: Month[] = [];
  for (let i = 0; i <= monthsBetween(start, last); i++) grid.push(addMonths(start, i));
  return { grid, firstIdx: grid.indexOf(first), last, lastMonth, endOf };
}

/** Every billing source as coverage rows (invoice lines, subscription states, CSV rows), in `product`. */
export function sqlScopedCoverage(d: Dialect, config: Config, product: ProductScope): Sql {
  const csvCustomers = sql`SELECT DISTINCT customer_id FROM billing_subscription_rows`;
  const lines = sqlLineCoverage(d, config);
  const coverage = sql`
    SELECT * FROM (${lines}) l WHERE l.customer_id NOT IN (${csvCustomers})
    UNION ALL
    SELECT * FROM (${sqlStateCoverage(d, config)}) s WHERE s.customer_id NOT IN (${csvCustomers})
    UNION ALL
    ${sqlCsvCoverage(d)}`;
  return sql`SELECT * FROM (${coverage}) c WHERE ${sqlProductFilter(product, raw('c.product'))}`;
}

/**
 * Currencies of every non-zero billing amount that can reach the grid (cheap: no joins), each
 * needing a rate: `currency, rate` rows for queryBillingCurrencies.
 */
export function sqlBillingAmounts(gridStart: Sql): Sql {
  return sql`SELECT upper(currency) AS currency, amount AS rate FROM billing_invoice_lines WHERE period_end >= ${gridStart}
      UNION ALL SELECT upper(currency), unit_amount FROM billing_subscription_states
      UNION ALL SELECT upper(currency), amount FROM billing_subscription_rows`;
}

/** What the pure MRR query builder needs besides the config: the grid and what the store holds. */
export interface CustomerMonthPlan {
  grid: RevenueGrid;
  /** The fx VALUES list (sqlFxValues). */
  fx: Sql;
  /** Subscription states are stored: fill months without invoice lines from them. */
  gapFill: boolean;
  /** Organization, name, plan, currency and interval too (the timeline); the metrics need amounts only. */
  details: boolean;
}

/** CTE `cov`: each source in the reporting currency with the grid months it covers (lo..hi). */
function sqlCoverageCte(d: Dialect, scoped: Sql, g: RevenueGrid, gridStart: Sql, gridEnd: Sql): Sql {
  // How many grid month-ends are at or before `ts`: plain comparisons, no calendar functions
  // (timestamptz calendar arithmetic is slow on millions of rows).
  const monthEndsUpTo = (ts: Sql): Sql =>
    sql`(${join(
      g.grid.map(
        (m) => sql`CASE WHEN ${ts} >= ${d.sqlTimestamp(sql`${g.endOf(m).toISOString()}`)} THEN 1 ELSE 0 END`,
      ),
      ' + ',
    )})`;
  return d.sqlMaterialized(
    'cov',
    sql`
      SELECT c.customer_id AS customer_id, c.subscription_id AS subscription_id, c.plan AS plan,
        c.currency AS currency, c.interval AS interval, c.kind AS kind,
        -- Exact decimals (to a millionth of a minor unit): a sum of doubles depends on the order
        -- the engine adds them in, and a customer-month rounded at .5 could move by a cent.
        CAST(c.rate * coalesce(fx.factor, 0) AS DECIMAL(38, 6)) AS rate,
        CAST(${monthEndsUpTo(raw('c.valid_from'))} AS BIGINT) AS lo, CAST(${monthEndsUpTo(raw('c.valid_to'))} - 1 AS BIGINT) AS hi
      FROM (${scoped}) c LEFT JOIN fx ON fx.currency = c.currency
      WHERE c.valid_to >= ${gridStart} AND c.valid_from < ${gridEnd}`,
  );
}

/** CTEs from `hits` to `cm`: MRR per customer and grid month (gap-filled from states when asked). */
function sqlCustomerMonthCtes(d: Dialect, gapFill: boolean, details: boolean): Sql {
  // Plan, currency and interval only for the timeline: the metrics need the amounts alone.
  const detailCols = (): Sql =>
    details
      ? sql`${d.sqlArgMax(raw('plan'), raw('rate'))} AS plan,
        ${d.sqlArgMax(raw('currency'), raw('rate'))} AS currency,
        ${d.sqlArgMax(raw('interval'), raw('rate'))} AS interval`
      : raw('NULL AS plan, NULL AS currency, NULL AS interval');
  const perCustomer = (from: string): Sql => sql`
      SELECT customer_id, idx, CAST(${d.sqlRound(d.sqlGreatest([sql`sum(rate)`, raw('0')]))} AS BIGINT) AS mrr, ${detailCols()}
      FROM ${raw(from)} GROUP BY customer_id, idx`;
  return gapFill
    ? sql`
    -- Per subscription and month-end: invoice lines (and CSV rows) where there are any, else the
    -- state from subscription events.
    sub_month AS (
      SELECT customer_id, subscription_id, idx,
        CASE WHEN sum(CASE WHEN kind <> 'state' THEN 1 ELSE 0 END) > 0
          THEN sum(CASE WHEN kind <> 'state' THEN rate ELSE 0 END)
          ELSE sum(CASE WHEN kind = 'state' THEN rate ELSE 0 END) END AS rate, ${detailCols()}
      FROM hits GROUP BY customer_id, subscription_id, idx
    ),
    ${d.sqlMaterialized('cm', perCustomer('sub_month'))},`
    : sql`
    ${d.sqlMaterialized('cm', perCustomer('hits'))},`;
}

/** The final SELECT: each customer-month with the previous month-end's MRR and its movement. */
function sqlMovements(d: Dialect, config: Config, g: RevenueGrid, details: boolean): Sql {
  return sql`
    first_paid AS (SELECT customer_id, min(idx) AS idx FROM cm WHERE mrr > 0 GROUP BY customer_id),
    -- Each customer-month paired with the previous month-end (a missing side is 0 MRR).
    pairs AS (
      SELECT coalesce(c.customer_id, p.customer_id) AS customer_id, coalesce(c.idx, p.idx + 1) AS idx,
        coalesce(c.mrr, 0) AS mrr, coalesce(p.mrr, 0) AS prev_mrr, c.plan AS plan, c.currency AS currency,
        c.interval AS interval
      FROM (SELECT * FROM cm WHERE idx >= ${g.firstIdx}) c
      FULL OUTER JOIN (SELECT * FROM cm WHERE idx >= ${g.firstIdx - 1} AND idx < ${g.grid.length - 1}) p
        ON p.customer_id = c.customer_id AND p.idx + 1 = c.idx
    ),
    lagged AS (
      SELECT pairs.customer_id AS customer_id, pairs.idx AS idx, pairs.mrr AS mrr, pairs.prev_mrr AS prev_mrr,
        pairs.plan AS plan, pairs.currency AS currency, pairs.interval AS interval, grid.month AS month,
        fp.idx AS first_paid_idx
      FROM pairs JOIN grid ON grid.idx = pairs.idx
      LEFT JOIN first_paid fp ON fp.customer_id = pairs.customer_id
    )${
      details
        ? sql`,
    orgs AS (${sqlCustomerOrganizations(d, config)}),
    csv_orgs AS (SELECT customer_id, max(organization) AS organization FROM billing_subscription_rows GROUP BY customer_id)`
        : raw('')
    }
    SELECT l.customer_id AS customer_id, ${details ? raw('coalesce(co.organization, o.organization) AS organization, o.name AS name') : raw('NULL AS organization, NULL AS name')},
      l.idx AS idx, l.month AS month, l.mrr AS mrr, l.prev_mrr AS prev_mrr,
      CASE
        WHEN l.prev_mrr = 0 AND l.mrr > 0 THEN ${d.sqlIf(raw('l.first_paid_idx < l.idx'), raw(`'reactivation'`), raw(`'new'`))}
        WHEN l.prev_mrr > 0 AND l.mrr = 0 THEN 'churned'
        WHEN l.mrr > l.prev_mrr THEN 'expansion'
        WHEN l.mrr < l.prev_mrr THEN 'contraction'
        WHEN l.mrr > 0 THEN 'flat'
        ELSE 'none'
      END AS movement,
      l.plan AS plan, l.currency AS currency, l.interval AS interval
    FROM lagged l${
      details
        ? raw(`
    LEFT JOIN orgs o ON o.customer_id = l.customer_id
    LEFT JOIN csv_orgs co ON co.customer_id = l.customer_id`)
        : raw('')
    }
    WHERE l.month <= ${g.lastMonth ?? g.last}`;
}

/**
 * Pure: the per-customer month-end MRR query (columns: customer_id, organization, name, idx,
 * month, mrr, prev_mrr, movement, plan, currency, interval), amounts in reporting-currency minor
 * units, integers. Built from named parts: the grid, the coverage (`cov`), the month-ends each
 * source counts at (`hits`), per customer and month (`cm`), and the movements.
 */
export function buildCustomerMonthSql(
  d: Dialect,
  config: Config,
  product: ProductScope,
  plan: CustomerMonthPlan,
): Sql {
  const g = plan.grid;
  const gridStart = d.sqlTimestamp(sql`${monthStart(g.grid[0] as Month).toISOString()}`);
  const gridEnd = d.sqlTimestamp(sql`${monthEnd(g.last).toISOString()}`);
  return sql`
    WITH grid AS (SELECT * FROM ${sqlMonthGrid(d, g.grid, g.endOf)}),
    fx AS (SELECT * FROM ${plan.fx}),
    -- \`cov\` and \`cm\` are read more than once: computed once (DuckDB does so by itself).
    ${sqlCoverageCte(d, sqlScopedCoverage(d, config, product), g, gridStart, gridEnd)},
    -- A source counts at the month-ends E with valid_from < E <= valid_to: grid months lo..hi.
    -- Most lines cover one month-end and need no join.
    hits AS (
      SELECT v.*, v.lo AS idx FROM cov v WHERE v.lo = v.hi
      UNION ALL
      SELECT v.*, grid.idx AS idx FROM cov v JOIN grid ON grid.idx >= v.lo AND grid.idx <= v.hi
      WHERE v.hi > v.lo
    ),
    ${sqlCustomerMonthCtes(d, plan.gapFill, plan.details)}
    ${sqlMovements(d, config, g, plan.details)}`;
}

/**
 * Builds the per-customer month-end MRR query over `months` (and enough history before them to
 * know whether a customer paid before: reactivation vs new). Its queries first — the first billing
 * month, the data's end, the currencies present, whether subscription states are stored — then
 * the pure builder (buildCustomerMonthSql).
 */
export async function customerMonthQuery(scope: RevenueScope): Promise<CustomerMonthQuery> {
  const { engine, config, product, months } = scope;
  const d = engine.dialect;
  if (months.length === 0) throw new Error('customerMonthQuery: no months asked');
  const firstBilling = await queryFirstBillingMonth(engine);
  const asOf = scope.asOf !== undefined ? scope.asOf : (await dataRanges(engine)).last;
  const g = revenueGrid(months, firstBilling, asOf);
  const gridStart = d.sqlTimestamp(sql`${monthStart(g.grid[0] as Month).toISOString()}`);
  const fx = await fxTable(scope, sqlBillingAmounts(gridStart));
  const gapFill = await queryHasSubscriptionStates(engine);
  const q = buildCustomerMonthSql(d, config, product, {
    grid: g,
    fx,
    gapFill,
    details: scope.details === true,
  });
  return { sql: q, grid: g.grid, firstIdx: g.firstIdx, firstBilling, lastMonth: g.lastMonth };
}

export interface CustomerRevenueRow {
  customerId: string;
  /** The linked organization (group key), or null when the customer is not linked. */
  organization: string | null;
  /** The billing customer's name, when known. */
  name: string | null;
  month: Month;
  /** Month-end MRR in major units of reporting.currency. */
  mrr: number;
  /** The previous month-end's MRR, same units. */
  previousMrr: number;
  movement: Movement;
  /** The plan with the largest share of the customer's MRR that month; null at zero MRR. */
  plan: string | null;
  /** The billing currency of that plan (before conversion). */
  currency: string | null;
  interval: string | null;
}

/**
 * The per-customer revenue timeline over `scope.months`: one row per customer and month where it
 * paid at the month's end or the month before (movements `none` left out). Deep dives (top
 * customers, churn reasons) read this.
 */
export async function customerRevenueTimeline(scope: RevenueScope): Promise<CustomerRevenueRow[]> {
  if (scope.product.name !== 'all' && scope.product.stripeProducts.length === 0) return [];
  const first = scope.months[0];
  const last = scope.months.at(-1);
  if (first === undefined || last === undefined || !inBuildScope(scope.engine)) return timelineRows(scope);
  // In a review build the dives share one timeline (store/build-scope.ts): the one of the
  // SHARED_TIMELINE_MONTHS months ending at the last month asked, whoever asks first. A month's
  // rows do not depend on the months asked before it: the grid reaches back to the first billing
  // month either way (revenueGrid), so the months asked are those rows of the wider timeline.
  const wide = monthsEndingAt(last, SHARED_TIMELINE_MONTHS);
  if (first < (wide[0] as Month)) return timelineRows(scope);
  const key = `revenue timeline|${scope.product.name}|${last}|${scope.asOf === undefined ? 'store' : (scope.asOf?.toISOString() ?? 'empty')}`;
  const rows = await sharedInBuild(scope.engine, key, () => timelineRows({ ...scope, months: wide }));
  return rows.filter((r) => r.month >= first && r.month <= last);
}

/**
 * How many months the timeline a review build shares covers (ending at the review month): the
 * longest any deep dive asks (churn-reasons: 24 months of history and the month).
 */
export const SHARED_TIMELINE_MONTHS = 25;

async function timelineRows(scope: RevenueScope): Promise<CustomerRevenueRow[]> {
  const q = await customerMonthQuery({ ...scope, details: true });
  const divisor = minorPerMajor(scope.config.reporting.currency);
  const rows = await scope.engine.query<{
    customer_id: string;
    organization: string | null;
    name: string | null;
    month: string;
    mrr: number;
    prev_mrr: number;
    movement: Movement;
    plan: string | null;
    currency: string | null;
    interval: string | null;
  }>(
    sql`SELECT * FROM (${q.sql}) t WHERE t.idx >= ${q.firstIdx} AND t.movement <> 'none' ORDER BY t.idx, t.customer_id`,
  );
  return rows.map((r) => ({
    customerId: r.customer_id,
    organization: r.organization,
    name: r.name,
    month: r.month,
    mrr: Number(r.mrr) / divisor,
    previousMrr: Number(r.prev_mrr) / divisor,
    movement: r.movement,
    plan: r.plan,
    currency: r.currency,
    interval: r.interval,
  }));
}

/**
 * Usage revenue: metered invoice lines (net of discounts) by the month their invoice was issued
 * (or paid, with billing.mrrFrom = paid), in reporting-currency minor units. null when the scope
 * has no metered lines at all.
 */
export async function usageRevenueQuery(scope: RevenueScope): Promise<Map<Month, number> | null> {
  const { engine, config, product, months } = scope;
  const d = engine.dialect;
  if (product.name !== 'all' && product.stripeProducts.length === 0) return null;
  const paid = config.billing.mrrFrom === 'paid';
  const at = paid ? raw('i.paid_at') : raw('coalesce(i.created, l.period_start)');
  const lines = sql`
    SELECT ${d.sqlMonthKey(at)} AS month, upper(coalesce(l.currency, i.currency)) AS currency,
      l.amount - l.discount_amount AS rate
    FROM billing_invoice_lines l
    LEFT JOIN billing_invoices i ON i.id = l.invoice_id
    LEFT JOIN billing_subscription_items si ON si.id = l.subscription_item_id
    LEFT JOIN billing_prices p ON p.id = coalesce(l.price_id, si.price_id)
    WHERE coalesce(l.usage_type, p.usage_type) = 'metered'
      AND coalesce(i.status, l.invoice_status) IN ${paid ? raw(`('paid')`) : raw(`('open', 'paid')`)}
      AND ${sqlProductFilter(product, raw('coalesce(l.product, p.product)'))}`;
  // Cheap check first (no joins): a line is metered by its own price or an imported price.
  const [any] = await engine.query<{ n: number }>(sql`
    SELECT (SELECT count(*) FROM billing_prices WHERE usage_type = 'metered')
      + (SELECT count(*) FROM billing_invoice_lines WHERE usage_type = 'metered') AS n`);
  if (!any || Number(any.n) === 0) return null;
  const fx = await fxTable(scope, lines);
  const rows = await engine.query<{ month: string; amount: number }>(sql`
    SELECT x.month AS month, ${d.sqlRound(sql`sum(CAST(x.rate * fx.factor AS DECIMAL(38, 6)))`)} AS amount
    FROM (${lines}) x JOIN ${fx} ON fx.currency = x.currency
    WHERE x.month IN (${join(months.map((m) => sql`${m}`))})
    GROUP BY x.month`);
  return new Map(rows.map((r) => [r.month, Number(r.amount)]));
}
