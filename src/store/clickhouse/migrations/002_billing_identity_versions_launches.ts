/**
 * The ClickHouse twin of DuckDB migrations 010, 011 and 019:
 * - 010: the subscription CSV's rows are keyed by `row_key` (`id:<id>`, or `row:<md5>:<occurrence>`),
 *   `plan` and `product` may be null, and `id`, `occurrence` are kept. The sort key is the replace
 *   key, so the table is rebuilt: created anew, filled from the old one (row keys computed as 010
 *   does, `:1` occurrences), the old one dropped and the new one renamed. Each step checks what is
 *   already done, so an interrupted rebuild finishes on the next run.
 * - 011: a `version` (the state's time) on every Stripe object table. Rows stored before keep a
 *   null version (DuckDB dates them to the migration; no ClickHouse store predates this one).
 * - 019: `launches`.
 */
import { addColumn, createTable, type SchemaContext, type TableDef } from '../schema.js';
import { TABLES as TABLES_001 } from './001_init.js';

const NTS = "Nullable(DateTime64(6, 'UTC'))";

const VERSIONED_BILLING = [
  'billing_customers',
  'billing_products',
  'billing_prices',
  'billing_coupons',
  'billing_subscriptions',
  'billing_subscription_items',
  'billing_invoices',
  'billing_invoice_lines',
  'billing_credit_notes',
];

const SUBSCRIPTION_ROWS: TableDef = {
  name: 'billing_subscription_rows',
  columns: [
    ['customer_id', 'String'],
    ['organization', 'Nullable(String)'],
    ['plan', 'Nullable(String)'],
    ['product', 'Nullable(String)'],
    ['currency', 'String'],
    ['amount', 'Int64'],
    ['interval', 'String'],
    ['interval_count', 'Int32'],
    ['quantity', 'Int64'],
    ['start_at', "DateTime64(6, 'UTC')"],
    ['end_at', NTS],
    ['status', 'Nullable(String)'],
    ['source', 'Nullable(String)'],
    ['id', 'Nullable(String)'],
    ['occurrence', 'Nullable(Int32)'],
    ['row_key', 'String'],
  ],
  versioned: true,
  orderBy: ['row_key'],
};

const LAUNCHES: TableDef = {
  name: 'launches',
  columns: [
    ['id', 'Int64'],
    ['product', 'String'],
    ['day', 'String'],
    ['title', 'String'],
    ['flag', 'Nullable(String)'],
    ['metrics', 'String'],
    ['unit', 'String'],
    ['control', 'Nullable(String)'],
    ['window_days', 'Int32'],
    ['created_at', "DateTime64(6, 'UTC')"],
  ],
  versioned: true,
  orderBy: ['id'],
};

export const TABLES: readonly TableDef[] = [
  ...TABLES_001.map((t) => {
    if (t.name === SUBSCRIPTION_ROWS.name) return SUBSCRIPTION_ROWS;
    return VERSIONED_BILLING.includes(t.name)
      ? { ...t, columns: [...t.columns, ['version', NTS] as const] }
      : t;
  }),
  LAUNCHES,
];

/** What a migration may ask of the store before it spells its statements. */
export interface Inspect {
  tableExists(table: string): Promise<boolean>;
  hasColumn(table: string, column: string): Promise<boolean>;
}

export async function statements(ctx: SchemaContext, inspect: Inspect): Promise<string[]> {
  const on = ctx.cluster ? ` ON CLUSTER \`${ctx.cluster}\`` : '';
  const out: string[] = [];
  for (const name of VERSIONED_BILLING) {
    const t = TABLES_001.find((x) => x.name === name) as TableDef;
    out.push(...addColumn(t, ctx, 'version', NTS));
  }
  const next = { ...SUBSCRIPTION_ROWS, name: 'billing_subscription_rows_002' };
  const oldExists = await inspect.tableExists('billing_subscription_rows');
  const rebuilt = oldExists && (await inspect.hasColumn('billing_subscription_rows', 'row_key'));
  if (!rebuilt) {
    if (oldExists) {
      const cols = SUBSCRIPTION_ROWS.columns.map(([c]) => `\`${c}\``).join(', ');
      const key = `concat('row:', lower(hex(MD5(toJSONString([customer_id, coalesce(plan, ''), coalesce(product, ''), toString(toUnixTimestamp64Micro(start_at))])))), ':1')`;
      out.push(
        ...createTable(next, ctx),
        `INSERT INTO \`${next.name}\` (${cols})
         SELECT customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity,
           start_at, end_at, status, source, NULL, 1, ${key}
         FROM billing_subscription_rows`,
        `DROP TABLE billing_subscription_rows${on} SYNC`,
      );
    }
    out.push(`RENAME TABLE \`${next.name}\` TO billing_subscription_rows${on}`);
  }
  out.push(...createTable(LAUNCHES, ctx));
  return out;
}
