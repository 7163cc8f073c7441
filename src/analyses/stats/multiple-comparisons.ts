/**
 * Benjamini–Hochberg (1995) adjusted p-values ("q-values" as the review calls them): the smallest
 * false discovery rate at which each hypothesis would be rejected. Same numbers as R's
 * p.adjust(p, "BH"): sort ascending, qᵢ = min over j ≥ i of (m / j) · p₍ⱼ₎, capped at 1, returned
 * in the input's order. A null p-value (a test that did not run) stays null and does not count
 * towards m.
 */
export function benjaminiHochberg(pValues: readonly (number | null)[]): (number | null)[] {
  const present = pValues
    .map((p, index) => ({ p, index }))
    .filter((x): x is { p: number; index: number } => x.p !== null);
  for (const { p } of present) {
    if (!(p >= 0 && p <= 1)) throw new Error(`a p-value is in [0, 1], got ${p}`);
  }
  const m = present.length;
  const out: (number | null)[] = pValues.map(() => null);
  present.sort((a, b) => a.p - b.p);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const item = present[rank - 1] as { p: number; index: number };
    running = Math.min(running, (m / rank) * item.p);
    out[item.index] = running;
  }
  return out;
}

export const MULTIPLE_COMPARISON_METHOD = 'benjamini-hochberg';
