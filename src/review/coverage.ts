/**
 * What data a review stands on (SPEC §5 `dataCoverage`; docs/metrics.md, "Null or zero"): the
 * first and last day of each source and of the data as a whole, what the import ledger says of
 * each source, and whether the review's month is one the data can speak for — complete,
 * unfinished, partial, or outside the data. Everything here is a function of the stored data and
 * of `now` (only to tell whether the month is over): no import times, no file names, so the same
 * data imported in any order gives the same coverage.
 */
import { isoDay, monthEnd, monthStart, type Month } from '../domain/month.js';
import type { DataCoverage, MonthStatus } from '../domain/review.js';
import type { DataRanges } from '../metrics/data-range.js';
import { sqlMonthIndex } from '../metrics/usage/series.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';

const DAY_MS = 86_400_000;
/** A source that ends this many days before the rest of the data is said to (a stale export?). */
export const STALE_SOURCE_DAYS = 7;

export interface MonthCoverage {
  status: MonthStatus;
  days: number;
  coveredDays: number;
  from: string | null;
  to: string | null;
}

const dayNumber = (d: Date): number => Math.floor(d.getTime() / DAY_MS);
const dayText = (n: number): string => isoDay(new Date(n * DAY_MS));

/**
 * The review month against the data's range [first, last] and the clock (pure). The days covered
 * run from the data's first day (or the month's) to the earliest of the data's last day, today
 * and the month's last day.
 */
export function monthCoverage(month: Month, first: Date | null, last: Date | null, now: Date): MonthCoverage {
  const start = dayNumber(monthStart(month));
  const end = dayNumber(monthEnd(month)) - 1; // the month's last day
  const days = end - start + 1;
  if (first === null || last === null || dayNumber(last) < start || dayNumber(first) > end) {
    return { status: 'outside', days, coveredDays: 0, from: null, to: null };
  }
  const from = Math.max(start, dayNumber(first));
  const to = Math.min(end, dayNumber(last), dayNumber(now));
  const coveredDays = Math.max(0, to - from + 1);
  const covered = coveredDays > 0 ? { from: dayText(from), to: dayText(to) } : { from: null, to: null };
  const status: MonthStatus =
    now < monthEnd(month) ? 'unfinished' : coveredDays < days ? 'partial' : 'complete';
  return { status, days, coveredDays, ...covered };
}

/** The sentence a review of a month that is not complete opens with (null when it is complete). */
export function monthStatement(
  month: Month,
  c: MonthCoverage,
  first: Date | null,
  last: Date | null,
): string | null {
  const firstDay = first ? isoDay(first) : null;
  const lastDay = last ? isoDay(last) : null;
  switch (c.status) {
    case 'complete':
      return null;
    case 'outside':
      if (firstDay === null || lastDay === null)
        return `No data for ${month}: nothing has been imported, so every metric is n/a.`;
      return lastDay < isoDay(monthStart(month))
        ? `No data for ${month}: the data ends on ${lastDay}. Metrics after that cannot be computed and are n/a, not carried forward.`
        : `No data for ${month}: the data starts on ${firstDay}. Metrics before that cannot be computed and are n/a.`;
    case 'unfinished':
      return `${month} is not over: this review covers ${c.coveredDays} of its ${c.days} days${c.to ? ` (to ${c.to})` : ''}, so its numbers are partial.`;
    case 'partial': {
      const ends = lastDay !== null && c.to === lastDay;
      return ends
        ? `The data ends on ${lastDay}: it covers ${c.coveredDays} of ${month}'s ${c.days} days, so the month's numbers are partial.`
        : `The data starts on ${firstDay ?? '?'}: it covers ${c.coveredDays} of ${month}'s ${c.days} days, so the month's numbers are partial.`;
    }
  }
}

interface LedgerRow {
  src: 'events' | 'billing' | 'feedback';
  rejected: number;
}

/** Per source: imported at all, and the rejected records of the latest import of each file. */
async function ledger(engine: Engine): Promise<Map<string, LedgerRow>> {
  const rows = await engine.query<LedgerRow>(sql`
    SELECT src, CAST(coalesce(sum(rejected) FILTER (WHERE rn = 1), 0) AS INTEGER) AS rejected FROM (
      SELECT CASE kind WHEN 'events' THEN 'events' WHEN 'feedback' THEN 'feedback' ELSE 'billing' END AS src,
        -- The ledger has no id: two imports of one file in the same instant tie-break on their counts.
        rejected, row_number() OVER (PARTITION BY kind, source ORDER BY imported_at DESC, rejected DESC, records DESC) AS rn
      FROM imports
    ) x GROUP BY src`);
  return new Map(rows.map((r) => [r.src, { src: r.src, rejected: Number(r.rejected) }]));
}

export interface CoverageInput {
  /** The review's 13 months, oldest first; the last is the review's month. */
  months: readonly Month[];
  ranges: DataRanges;
  now: Date;
}

export async function dataCoverage(engine: Engine, o: CoverageInput): Promise<DataCoverage> {
  const d = engine.dialect;
  const { months, ranges } = o;
  const month = months[months.length - 1]!;
  const from = monthStart(months[0]!);
  const to = monthEnd(month);
  const [counts] = await engine.query<Record<string, number>>(
    sql`SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM persons) AS persons,
          (SELECT count(*) FROM groups WHERE group_type = 'organization') AS orgs,
          (SELECT count(*) FROM billing_customers) AS customers,
          (SELECT count(*) FROM billing_invoice_lines) AS lines,
          (SELECT count(*) FROM billing_subscription_rows) AS rows,
          (SELECT count(*) FROM feedback) AS feedback`,
  );
  const n = (k: string): number => Number(counts?.[k] ?? 0);
  // The month of each event by comparisons with the month bounds (sqlMonthIndex): a calendar
  // function on every event costs several times more.
  const evIndexes = await engine.query<{ i: number }>(
    sql`SELECT DISTINCT ${sqlMonthIndex(sql`timestamp`, months)} AS i FROM events
        WHERE timestamp >= ${from} AND timestamp < ${to}`,
  );
  const evMonths = evIndexes
    .map((r) => months[Number(r.i)] as Month)
    .sort()
    .map((m) => ({ m }));
  const billMonths = await engine.query<{ m: string }>(
    // The union in a subquery: ClickHouse applies a trailing ORDER BY to the last SELECT only.
    sql`SELECT m FROM (
          SELECT DISTINCT ${d.sqlMonthKey(sql`period_start`)} AS m FROM billing_invoice_lines
          WHERE period_start >= ${from} AND period_start < ${to}
          UNION SELECT DISTINCT ${d.sqlMonthKey(sql`start_at`)} AS m FROM billing_subscription_rows
          WHERE start_at >= ${from} AND start_at < ${to}) x
        ORDER BY m`,
  );
  const imports = await ledger(engine);
  const day = (x: Date | null): string | null => (x ? isoDay(x) : null);
  const led = (source: string) => ({
    imported: imports.has(source),
    rejected: imports.get(source)?.rejected ?? 0,
  });

  const c = monthCoverage(month, ranges.first, ranges.last, o.now);
  const monthsWithEvents = evMonths.map((r) => r.m);
  const monthsWithBilling = billMonths.map((r) => r.m);
  const notes: string[] = [];
  if (n('events') === 0)
    notes.push('No product events imported: usage metrics and usage-based analyses are empty.');
  else if (monthsWithEvents.length < months.length) {
    notes.push(`Events cover ${monthsWithEvents.length} of the ${months.length} months shown.`);
  }
  if (n('lines') + n('rows') === 0) notes.push('No billing history imported: revenue metrics are empty.');
  if (n('feedback') === 0) notes.push('No feedback imported beyond survey events.');
  // A continuous source that stops well before the rest: most likely an older export.
  for (const [name, r, what] of [
    ['Events', ranges.events, 'usage metrics'],
    ['Billing', ranges.billing, 'revenue (carried forward from its last state)'],
  ] as const) {
    if (r.last && ranges.last && ranges.last.getTime() - r.last.getTime() > STALE_SOURCE_DAYS * DAY_MS) {
      notes.push(
        `${name} data ends on ${isoDay(r.last)}, ${Math.floor((ranges.last.getTime() - r.last.getTime()) / DAY_MS)} days before the rest (${isoDay(ranges.last)}): ${what} after it may be incomplete; import a newer export if there is one.`,
      );
    }
  }
  for (const [name, source] of [
    ['events', 'events'],
    ['billing records', 'billing'],
    ['feedback items', 'feedback'],
  ] as const) {
    const rejected = imports.get(source)?.rejected ?? 0;
    if (rejected > 0)
      notes.push(
        `${rejected} ${name} were rejected on import and are not counted (\`sextant imports\` lists the files and their rejects).`,
      );
  }
  return {
    complete: c.status === 'complete',
    status: c.status,
    statement: monthStatement(month, c, ranges.first, ranges.last),
    period: { days: c.days, coveredDays: c.coveredDays, from: c.from, to: c.to },
    first: day(ranges.first),
    last: day(ranges.last),
    events: {
      count: n('events'),
      first: day(ranges.events.first),
      last: day(ranges.events.last),
      ...led('events'),
    },
    persons: n('persons'),
    organizations: n('orgs'),
    billing: {
      customers: n('customers'),
      invoiceLines: n('lines'),
      subscriptionRows: n('rows'),
      first: day(ranges.billing.first),
      last: day(ranges.billing.last),
      ...led('billing'),
    },
    feedback: {
      count: n('feedback'),
      first: day(ranges.feedback.first),
      last: day(ranges.feedback.last),
      ...led('feedback'),
    },
    monthsWithEvents,
    monthsWithBilling,
    notes,
  };
}
