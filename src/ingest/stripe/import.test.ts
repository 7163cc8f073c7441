import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { configSchema } from '../../config/schema.js';
import { sqlCustomerOrganizations } from '../../metrics/revenue/customer-mrr.js';
import { raw, sql } from '../../store/sql.js';
import { currentLine, invoice, price, ts, writeJsonl } from '../../../test/helpers/stripe-fixtures.js';
import { ledgerBalances } from '../report.js';
import { importStripe, importStripeFile, STRIPE_RULES } from './import.js';
import { storeBillingRows } from './load.js';
import { addStripeObject, emptyBillingRows } from './normalize.js';

const REAL = new URL('../../../test/fixtures/real/stripe-fixtures/', import.meta.url).pathname;

async function fresh(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

describe('importStripe on real Stripe objects', () => {
  it('imports every per-type fixture and fixtures3.json without rejecting anything', async () => {
    const e = await fresh();
    const reports = await importStripe(e, REAL);
    for (const r of reports) expect(r.rejected, r.file).toEqual([]);
    const byFile = new Map(reports.map((r) => [r.file.split('/').pop(), r]));
    // fixtures3.json holds 176 resource types; charge etc. are skipped and counted by type.
    expect(byFile.get('fixtures3.json')?.skipped?.charge).toBe(1);
    expect(byFile.get('charge.json')?.skipped).toEqual({ charge: 1 });
    const [inv] = await e.query(
      raw(`SELECT count(*) AS n FROM billing_invoice_lines WHERE invoice_id = 'in_1Pgc6tB7WZ01zgkWu9fdqL6I'`),
    );
    expect(inv?.n).toBe(1);
    // Current shape: proration and subscription item come from parent.*_details.
    const [line] = await e.query(
      raw(
        `SELECT proration, line_type, amount FROM billing_invoice_lines WHERE invoice_id = 'in_1Pgc6tB7WZ01zgkWu9fdqL6I'`,
      ),
    );
    expect(line).toEqual({ proration: true, line_type: 'invoiceitem', amount: 1000 });
    await e.close();
  });

  it('reads the older line shape (dj-stripe) and leaves customers with empty metadata unlinked', async () => {
    const e = await fresh();
    const reports = await importStripe(e, REAL + 'dj-stripe');
    for (const r of reports) expect(r.rejected, r.file).toEqual([]);
    const lines = await e.query(
      raw(
        `SELECT invoice_id, price_id, plan, interval, interval_count, proration, amount, tax_amount, subscription_id FROM billing_invoice_lines WHERE invoice_id = 'in_fakefakefakefakefake0004'`,
      ),
    );
    // amount 4000 includes 522 inclusive VAT: 4000 - 522 = 3478 is the revenue line.
    expect(lines).toEqual([
      {
        invoice_id: 'in_fakefakefakefakefake0004',
        price_id: 'silver41294',
        plan: 'New plan name',
        interval: 'month',
        interval_count: 1,
        proration: false,
        amount: 3478,
        tax_amount: 522,
        subscription_id: 'sub_fakefakefakefakefake0002',
      },
    ]);
    const customers = await e.query(raw(`SELECT id, metadata FROM billing_customers ORDER BY id`));
    expect(customers.length).toBe(2);
    for (const c of customers) expect(c.metadata).toBe('{}');
    // Empty metadata and no organization group with their email domain: they stay unlinked.
    const orgs = await e.query(
      sql`SELECT customer_id, organization FROM (${sqlCustomerOrganizations(e.dialect, configSchema.parse({}))}) o ORDER BY customer_id`,
    );
    expect(orgs).toEqual([
      { customer_id: 'cus_4QWKsZuuTHcs7X', organization: null },
      { customer_id: 'cus_6lsBvm5rJ0zyHc', organization: null },
    ]);
    await e.close();
  });

  it('is idempotent: a second import stores nothing twice', async () => {
    const e = await fresh();
    const first = await importStripe(e, REAL + 'dj-stripe');
    const count = async () =>
      (
        await e.query(
          raw(
            `SELECT (SELECT count(*) FROM billing_invoice_lines) + (SELECT count(*) FROM billing_customers) + (SELECT count(*) FROM billing_subscriptions) AS n`,
          ),
        )
      )[0]?.n;
    const before = await count();
    const second = await importStripe(e, REAL + 'dj-stripe');
    expect(await count()).toBe(before);
    expect(first.reduce((a, r) => a + r.inserted, 0)).toBeGreaterThan(0);
    expect(second.reduce((a, r) => a + r.inserted, 0)).toBe(0);
    await e.close();
  });

  it('stores invoices carried by invoice.* events, never over an invoice imported directly', async () => {
    const e = await fresh();
    const p = price('p1', 'prod_1', 1000, 'month');
    const inv = (id: string, amount: number) =>
      invoice(id, 'cus_1', '2024-01-01', [
        currentLine({
          id: 'il_' + id,
          amount,
          price: p,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 's',
        }),
      ]);
    const event = (id: string, object: ReturnType<typeof inv>) => ({
      id,
      object: 'event',
      type: 'invoice.paid',
      created: ts('2024-01-02'),
      data: { object },
    });
    await importStripeFile(e, writeJsonl('direct.jsonl', [inv('in_direct', 1000)]));
    const r = await importStripeFile(
      e,
      writeJsonl('events.jsonl', [
        event('evt_1', inv('in_direct', 9999)),
        event('evt_2', inv('in_only_event', 500)),
      ]),
    );
    expect(r.rejected).toEqual([]);
    const lines = await e.query(
      raw('SELECT invoice_id, amount FROM billing_invoice_lines ORDER BY invoice_id'),
    );
    // The direct import (1000) wins over the event's copy (9999); the event-only invoice is kept.
    expect(lines).toEqual([
      { invoice_id: 'in_direct', amount: 1000 },
      { invoice_id: 'in_only_event', amount: 500 },
    ]);
    await e.close();
  });
});

describe('a Stripe import is one transaction', () => {
  const p = price('p1', 'prod_1', 1000, 'month');
  const inv = (id: string, amount: number) =>
    invoice(id, 'cus_1', '2024-01-01', [
      currentLine({
        id: 'il_' + id,
        amount,
        price: p,
        start: '2024-01-01',
        end: '2024-02-01',
        subscription: 's',
      }),
    ]);
  const snapshot = async (e: DuckDbEngine) =>
    e.query(
      raw(`SELECT 'line' AS t, invoice_id AS id, amount::VARCHAR AS v FROM billing_invoice_lines
        UNION ALL SELECT 'invoice', id, total::VARCHAR FROM billing_invoices
        UNION ALL SELECT 'import', source, records::VARCHAR FROM imports ORDER BY 1, 2, 3`),
    );

  it('leaves the store as it was when it fails after deleting what it replaces', async () => {
    const e = await fresh();
    await importStripeFile(e, writeJsonl('first.jsonl', [p, inv('in_1', 1000), inv('in_2', 2000)]));
    const before = await snapshot(e);
    const rows = emptyBillingRows();
    addStripeObject(rows, inv('in_1', 5000), 'second.jsonl');
    addStripeObject(rows, inv('in_2', 6000), 'second.jsonl');
    // The re-import fails at its very end, after its DELETEs and INSERTs ran.
    await expect(
      storeBillingRows(e, rows, {
        count: { billing_invoices: ['in_1', 'in_2'] },
        finish: () => Promise.reject(new Error('killed at the end')),
      }),
    ).rejects.toThrow('killed at the end');
    expect(await snapshot(e)).toEqual(before);
    // Its stages were TEMP tables, dropped.
    const stages = await e.query(
      raw(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%stage%'`),
    );
    expect(stages).toEqual([]);
    await e.close();
  });

  it('drops the stage tables a killed import of an earlier version left behind', async () => {
    const e = await fresh();
    await e.exec(raw('CREATE TABLE stage_billing_invoices AS SELECT * FROM billing_invoices LIMIT 0'));
    await e.exec(
      raw('CREATE TABLE stage_billing_invoice_lines AS SELECT * FROM billing_invoice_lines LIMIT 0'),
    );
    await importStripeFile(e, writeJsonl('x.jsonl', [p, inv('in_1', 1000)]));
    const left = await e.query(raw(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%stage%'`));
    expect(left).toEqual([]);
    await e.close();
  });

  it('counts new, updated and unchanged objects, and ids repeated in the file', async () => {
    const e = await fresh();
    const first = await importStripeFile(e, writeJsonl('a.jsonl', [p, inv('in_1', 1000), inv('in_2', 2000)]));
    expect(first).toMatchObject({ records: 3, inserted: 3, updated: 0, duplicates: 0 });
    const second = await importStripeFile(
      e,
      writeJsonl('b.jsonl', [p, inv('in_1', 1000), inv('in_2', 2500), inv('in_3', 10), inv('in_3', 30)]),
    );
    expect(second).toMatchObject({ records: 5, inserted: 1, updated: 1, duplicates: 3 });
    expect(second.duplicateRules).toEqual({
      [STRIPE_RULES.unchanged]: 2,
      [STRIPE_RULES.repeated]: 1,
    });
    expect(ledgerBalances(second)).toBe(true);
    const [line] = await e.query<{ amount: number }>(
      raw(`SELECT amount FROM billing_invoice_lines WHERE invoice_id = 'in_3'`),
    );
    expect(line?.amount).toBe(30);
    await e.close();
  });
});
