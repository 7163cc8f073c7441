/**
 * Orders that give the same result on every machine. `String.prototype.localeCompare` follows the
 * process's locale (LANG): the same data sorted under lt_LT puts "y" before "j", under sv_SE "ä"
 * after "z", so a review built on another machine would differ byte for byte. Text is compared by
 * UTF-16 code units instead, which is also what DuckDB's ORDER BY on VARCHAR does for ASCII.
 * (eslint forbids `localeCompare`; see eslint.config.js.)
 */

/** Code-unit order of two strings: negative, 0 or positive, 0 only when they are equal. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `compareText` with null (and undefined) before every string. */
export function compareNullableText(a: string | null | undefined, b: string | null | undefined): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  return compareText(a, b);
}
