import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/** The subscription CSV header of SPEC §3.2 that `telcoSubscriptions` writes. */
export const SUBSCRIPTION_HEADER =
  'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status';

/**
 * Real data: IBM's Telco churn sample (test/fixtures/real/ibm-telco-churn) as a third party's
 * SaaS-like subscription export, converted test-side. Snapshot D = 2024-06-01:
 *   customer_id = the account, the 4 digits of customerID; organization = customerID;
 *   plan = Contract; product = InternetService; currency USD;
 *   Month-to-month: amount = round(MonthlyCharges × 100), month × 1;
 *   One year: 12 × that, year × 1; Two year: 24 × that, year × 2 (so MRR is the monthly charge);
 *   start = D − tenure months; Churn = Yes: end = D, status canceled; else active.
 * Every row is a subscription; 14 share their account, plan, product and start with another row.
 *
 * Also returns what the tests compute by hand from the same rows: the MRR (cents) of the
 * subscriptions active in June (not churned) and in May (tenure ≥ 1 month), and the row count.
 */
export function telcoSubscriptions(): { csv: string; activeJune: number; activeMay: number; rows: number } {
  const text = readFileSync(
    new URL('../fixtures/real/ibm-telco-churn/Telco-Customer-Churn.csv', import.meta.url),
    'utf8',
  );
  const [head, ...body] = parse<string[]>(text, { bom: true });
  const col = (name: string): number => head!.indexOf(name);
  const out = [SUBSCRIPTION_HEADER];
  let activeJune = 0;
  let activeMay = 0;
  for (const r of body) {
    const cents = Math.round(Number(r[col('MonthlyCharges')]) * 100);
    const contract = r[col('Contract')]!;
    const [interval, count, factor] =
      contract === 'One year' ? ['year', 1, 12] : contract === 'Two year' ? ['year', 2, 24] : ['month', 1, 1];
    const tenure = Number(r[col('tenure')]);
    const start = new Date(Date.UTC(2024, 5 - tenure, 1)).toISOString().slice(0, 10);
    const churned = r[col('Churn')] === 'Yes';
    const id = r[col('customerID')]!;
    out.push(
      [
        id.slice(0, 4),
        id,
        contract,
        r[col('InternetService')],
        'USD',
        cents * factor,
        interval,
        count,
        1,
        start,
        churned ? '2024-06-01' : '',
        churned ? 'canceled' : 'active',
      ].join(','),
    );
    if (!churned) activeJune += cents;
    if (tenure >= 1) activeMay += cents;
  }
  return { csv: out.join('\n') + '\n', activeJune, activeMay, rows: body.length };
}
