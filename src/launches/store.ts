/**
 * Launches as data (docs/analyses.md#launches): those in the config's `launches:` and those added
 * with `sextant launch add` (stored in `launches`, migration 019). Both become the same `Launch`;
 * a stored one has an id (to remove it), a configured one does not.
 */
import type { Config, LaunchConfig } from '../config/schema.js';
import { addMonths, isoDay, monthEnd, monthStart, type Month } from '../domain/month.js';
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { sql } from '../store/sql.js';
import { metricSpecSchema, type MetricSpec } from './metric.js';

export interface Launch {
  /** The stored launch's id; null for one from the config. */
  id: number | null;
  source: 'config' | 'store';
  title: string;
  /** The UTC day it shipped, YYYY-MM-DD. */
  date: string;
  product: string;
  flag: string | null;
  metrics: MetricSpec[];
  unit: 'person' | 'organization';
  control: string | null;
  windowDays: number;
}

export type LaunchInput = Omit<LaunchConfig, 'metrics'> & { metrics: MetricSpec[] };

function fromConfig(l: LaunchConfig): Launch {
  return {
    id: null,
    source: 'config',
    title: l.title,
    date: l.date,
    product: l.product,
    flag: l.flag ?? null,
    metrics: l.metrics,
    unit: l.unit,
    control: l.control ?? null,
    windowDays: l.windowDays,
  };
}

export async function addLaunch(engine: Engine, l: LaunchInput, now = new Date()): Promise<number> {
  // The next id by max + 1, not DuckDB's sequence: the same on every engine (ClickHouse has no
  // RETURNING), and one writer at a time holds the store (DuckDB's lock, the server's queue).
  const [last] = await engine.query<{ id: number | null }>(sql`SELECT max(id) AS id FROM launches`);
  const id = Number(last?.id ?? 0) + 1;
  await engine.upsert(
    'launches',
    [
      {
        id,
        product: l.product,
        day: l.date,
        title: l.title,
        flag: l.flag ?? null,
        metrics: JSON.stringify(l.metrics),
        unit: l.unit,
        control: l.control ?? null,
        window_days: l.windowDays,
        created_at: now,
      },
    ],
    ['id'],
  );
  return id;
}

export async function removeLaunch(engine: Engine, id: number): Promise<void> {
  const rows = await engine.query<{ id: number }>(sql`SELECT id FROM launches WHERE id = ${id}`);
  if (rows.length === 0) throw new InputError(`no stored launch with id ${id}`, { field: 'ID' });
  await engine.exec(sql`DELETE FROM launches WHERE id = ${id}`);
}

interface Row {
  id: number;
  product: string;
  day: string;
  title: string;
  flag: string | null;
  metrics: unknown;
  unit: string;
  control: string | null;
  window_days: number;
}

export interface LaunchFilter {
  product?: string;
  /** Launches dated in this month or the `monthsBefore` before it. */
  month?: Month;
  monthsBefore?: number;
}

/**
 * Every launch, configured and stored, oldest first (ties: configured before stored, then by
 * title), optionally of one product and within a month and the months before it.
 */
export async function listLaunches(engine: Engine, config: Config, f: LaunchFilter = {}): Promise<Launch[]> {
  const rows = await engine.query<Row>(sql`SELECT * FROM launches ORDER BY day, id`);
  const stored = rows.map((r): Launch => {
    const metrics = typeof r.metrics === 'string' ? (JSON.parse(r.metrics) as unknown) : r.metrics;
    return {
      id: Number(r.id),
      source: 'store',
      title: r.title,
      date: r.day,
      product: r.product,
      flag: r.flag,
      metrics: (Array.isArray(metrics) ? metrics : []).map((m) => metricSpecSchema.parse(m)),
      unit: r.unit === 'organization' ? 'organization' : 'person',
      control: r.control,
      windowDays: Number(r.window_days),
    };
  });
  const all = [...config.launches.map(fromConfig), ...stored];
  // Days as YYYY-MM-DD compare as text; monthEnd is the next month's first instant.
  const first = f.month ? isoDay(monthStart(addMonths(f.month, -(f.monthsBefore ?? 0)))) : null;
  const last = f.month ? isoDay(monthEnd(f.month)) : null;
  return all
    .filter((l) => f.product === undefined || l.product === f.product)
    .filter((l) => first === null || (l.date >= first && l.date < last!))
    .sort(
      (a, b) =>
        cmp(a.date, b.date) || cmp(a.source, b.source) || (a.id ?? 0) - (b.id ?? 0) || cmp(a.title, b.title),
    );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
