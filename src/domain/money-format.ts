/**
 * The one money format of everything a person reads (documents, highlights, findings): the
 * reporting currency's symbol, en-US grouping and the currency's own minor digits ("$7,253.28",
 * "−€12.50", "¥1,234"), or, where space is short, the compact form ("$53.1K", "$301"). A fixed
 * locale keeps the output identical on every machine. Here, not in src/render, because the review's
 * sentences (anomalies, highlights, deep-dive findings) are written with it too.
 */

const moneyFormats = new Map<string, { full: Intl.NumberFormat; compact: Intl.NumberFormat }>();

function moneyFormat(currency: string): { full: Intl.NumberFormat; compact: Intl.NumberFormat } {
  let f = moneyFormats.get(currency);
  if (!f) {
    const base = { style: 'currency', currency, currencyDisplay: 'narrowSymbol' } as const;
    try {
      f = {
        full: new Intl.NumberFormat('en-US', base),
        compact: new Intl.NumberFormat('en-US', {
          ...base,
          notation: 'compact',
          minimumFractionDigits: 0,
          maximumFractionDigits: 1,
        }),
      };
    } catch {
      // Not an ISO 4217 code Intl knows: the code itself stands in for the symbol.
      f = moneyFormat('XXX');
    }
    moneyFormats.set(currency, f);
  }
  return f;
}

/**
 * An amount of money in major units of `currency`: "$7,253.28", "−$12.50"; `compact` shortens
 * amounts of 1,000 and more ("$53.1K") and rounds smaller ones to whole units ("$301").
 */
export function formatMoney(value: number, currency: string, opts: { compact?: boolean } = {}): string {
  const f = moneyFormat(currency);
  const a = Math.abs(value);
  const body = opts.compact
    ? a >= 1000
      ? f.compact.format(a)
      : f.full.format(Math.round(a)).replace(/\.0+$/, '')
    : f.full.format(a);
  return value < 0 && /[1-9]/.test(body) ? `−${body}` : body;
}
