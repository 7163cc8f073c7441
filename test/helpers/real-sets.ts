/** Real data sets of test/fixtures/real converted test-side to Sextant's input formats. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';

/** CDNOW_master.txt (fixture) as events without uuid, one per purchase line (README there). */
export function cdnowEvents(): string[] {
  const text = gunzipSync(
    readFileSync(new URL('../fixtures/real/cdnow-purchases/CDNOW_master.txt.gz', import.meta.url)),
  ).toString('utf8');
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 4) continue;
    const [id, day, cds, dollars] = f as [string, string, string, string];
    const ts = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
    // The amount's digits as written (77.00 stays 77.00 in the file).
    out.push(
      `{"event":"order completed","distinct_id":"${id}","timestamp":"${ts}","properties":{"quantity":${cds},"revenue":${dollars}}}`,
    );
  }
  return out;
}

/**
 * Real data: NHS Friends & Family Test comments (test/fixtures/real/nhs-fft-feedback), converted
 * test-side to Sextant's feedback CSV:
 *   id = Comment ID; organization = Trust; distinct_id = Respondent ID; body = FFT answer;
 *   kind = request when the question asks what to improve / do better, else nps;
 *   score: the 5-point FFT answer 1→10, 2→8, 3→5, 4→2, 5→0; 6 and 7 (unexplained) → empty;
 *   created_at: d/m/Y when the first part > 12, m/d/Y when the second part > 12, else the raw
 *   ambiguous text (e.g. 02/06/2021), which the importer must reject; tags = themes marked 1.
 */
export function convertFft(csvText: string): string {
  const rows: string[][] = parse(csvText, { bom: true });
  const [head, ...body] = rows as [string[], ...string[][]];
  const col = (name: string): number => head.indexOf(name);
  const themes = head.slice(col('Comment sentiment') + 1);
  const scoreMap: Record<string, string> = { '1': '10', '2': '8', '3': '5', '4': '2', '5': '0' };
  const q = (s: string): string => '"' + s.replaceAll('"', '""') + '"';
  const out = ['id,kind,created_at,distinct_id,organization,score,body,tags'];
  for (const r of body) {
    const [a, b, y] = (r[col('Date')] as string).split('/').map(Number) as [number, number, number];
    const pad = (n: number): string => String(n).padStart(2, '0');
    const created =
      a > 12 ? `${y}-${pad(b)}-${pad(a)}` : b > 12 ? `${y}-${pad(a)}-${pad(b)}` : r[col('Date')];
    const question = r[col('FFT question')] as string;
    const kind = /improve|do better/i.test(question) ? 'request' : 'nps';
    const tags = themes.filter((_, i) => r[col('Comment sentiment') + 1 + i] === '1');
    out.push(
      [
        q(r[col('Comment ID')] as string),
        kind,
        q(created as string),
        q(r[col('Respondent ID')] as string),
        q(r[col('Trust')] as string),
        scoreMap[r[col('FFT categorical answer')] as string] ?? '',
        q(r[col('FFT answer')] as string),
        q(JSON.stringify(tags)),
      ].join(','),
    );
  }
  return out.join('\n') + '\n';
}
