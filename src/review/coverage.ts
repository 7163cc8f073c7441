import type { Month } from '../domain/month.js';
import { monthEnd, monthStart } from '../domain/month.js';
import type { DataCoverage } from '../domain/review.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

/** What data the review stands on: counts, date ranges, and which of its months have any. */
export async function dataCoverage(engine: Engine, months: readonly Month[]): Promise<DataCoverage> {
  const d = engine.dialect;
  const from = monthStart(months[0]!);
  const to = monthEnd(months[months.length - 1]!);
  const [ev] = await engine.query<{
    n: number;
    first: string | null;
    last: string | null;
    persons: number;
    orgs: number;
  }>(
    sql`SELECT count(*) AS n, min(timestamp) AS first, max(timestamp) AS last,
               (SELECT count(*) FROM persons) AS persons,
               (SELECT count(*) FROM groups WHERE group_type = 'organization') AS orgs
        FROM events`,
  );
  const [bill] = await engine.query<{
    customers: number;
    lines: number;
    rows: number;
    first: string | null;
    last: string | null;
  }>(
    sql`SELECT (SELECT count(*) FROM billing_customers) AS customers,
               (SELECT count(*) FROM billing_invoice_lines) AS lines,
               (SELECT count(*) FROM billing_subscription_rows) AS rows,
               ${d.sqlLeast([sql`(SELECT min(period_start) FROM billing_invoice_lines)`, sql`(SELECT min(start_at) FROM billing_subscription_rows)`])} AS first,
               ${d.sqlGreatest([sql`(SELECT max(period_end) FROM billing_invoice_lines)`, sql`(SELECT max(coalesce(end_at, start_at)) FROM billing_subscription_rows)`])} AS last`,
  );
  const [fb] = await engine.query<{ n: number; first: string | null; last: string | null }>(
    sql`SELECT count(*) AS n, min(created_at) AS first, max(created_at) AS last FROM feedback`,
  );
  const evMonths = await engine.query<{ m: string }>(
    sql`SELECT DISTINCT ${d.sqlMonthKey(sql`timestamp`)} AS m FROM events
        WHERE timestamp >= ${from} AND timestamp < ${to} ORDER BY 1`,
  );
  const billMonths = await engine.query<{ m: string }>(
    // The union in a subquery: ClickHouse applies a trailing ORDER BY to the last SELECT only.
    sql`SELECT m FROM (
          SELECT DISTINCT ${d.sqlMonthKey(sql`period_start`)} AS m FROM billing_invoice_lines
          WHERE period_start >= ${from} AND period_start < ${to}
          UNION SELECT DISTINCT ${d.sqlMonthKey(sql`start_at`)} AS m FROM billing_subscription_rows
          WHERE start_at >= ${from} AND start_at < ${to}) x
        ORDER BY m`,
  );
  const notes: string[] = [];
  const monthsWithEvents = evMonths.map((r) => r.m);
  const monthsWithBilling = billMonths.map((r) => r.m);
  if (ev!.n === 0)
    notes.push('No product events imported: usage metrics and usage-based analyses are empty.');
  else if (monthsWithEvents.length < months.length) {
    notes.push(`Events cover ${monthsWithEvents.length} of the ${months.length} months shown.`);
  }
  if (bill!.lines + bill!.rows === 0) notes.push('No billing history imported: revenue metrics are empty.');
  if (fb!.n === 0) notes.push('No feedback imported beyond survey events.');
  return {
    events: { count: ev!.n, first: ev!.first, last: ev!.last },
    persons: ev!.persons,
    organizations: ev!.orgs,
    billing: {
      customers: bill!.customers,
      invoiceLines: bill!.lines,
      subscriptionRows: bill!.rows,
      first: bill!.first,
      last: bill!.last,
    },
    feedback: { count: fb!.n, first: fb!.first, last: fb!.last },
    monthsWithEvents,
    monthsWithBilling,
    notes,
  };
}
