/**
 * What is left of an events file that looked like a JSON array (its first character is `[`) but
 * that DuckDB could not read as one (docs/ingest.md, "Structure"):
 * - a whole array followed by more text: JSON Lines whose first line happens to be an array
 *   (`[1,2]` then events); it is read line by line, the array line one bad record;
 * - an array cut short or broken inside (a truncated download, a damaged gzip stream): its
 *   complete elements are kept, numbered by index as in a whole array, and the rest of the file
 *   is one rejected record.
 * The file is read into memory for this: it only runs on a file that already failed.
 */
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { arrayElements } from '../stripe/read.js';

export type ArraySalvage =
  | { kind: 'lines' }
  | {
      kind: 'elements';
      /** The complete elements' text, in order (record 1, 2, …). */
      items: string[];
      /** The unreadable rest: one rejected record after the elements. */
      tail: { reason: string; text: string };
    };

/** The readable part of `file` (a damaged gzip stream's readable prefix), and what broke it. */
async function readablePart(file: string, gzip: boolean): Promise<{ text: string; damage?: string }> {
  const bytes = await readFile(file);
  if (!gzip) return { text: bytes.toString('utf8') };
  // Streamed, so what inflates before the damage is kept rather than thrown away with it.
  const chunks: Buffer[] = [];
  const z = createGunzip();
  const error = await new Promise<string | undefined>((resolve) => {
    z.on('data', (c: Buffer) => chunks.push(c));
    z.on('error', (e) => resolve(e.message));
    z.on('end', () => resolve(undefined));
    z.end(bytes);
  });
  const part = Buffer.concat(chunks);
  return {
    text: part.toString('utf8'),
    ...(error ? { damage: `gzip data damaged after ${part.length} bytes unzipped (${error})` } : {}),
  };
}

export async function salvageJsonArray(file: string, gzip: boolean): Promise<ArraySalvage | undefined> {
  let read: { text: string; damage?: string };
  try {
    read = await readablePart(file, gzip);
  } catch {
    return undefined;
  }
  const text = read.text.replace(/^\uFEFF/, '');
  const start = text.search(/\S/);
  if (start === -1 || text[start] !== '[') return undefined;
  const { items, tail, end } = arrayElements(text, start);
  if (tail === undefined) {
    // A whole array: with more after it, JSON Lines (a damaged gzip stream is then the line
    // reader's to report); alone, DuckDB failed on it for another reason, which stands.
    return text.slice(end + 1).trim() !== '' ? { kind: 'lines' } : undefined;
  }
  const cut = read.damage ? `${read.damage}: ` : '';
  return {
    kind: 'elements',
    items,
    tail: {
      reason: `${cut}the JSON array is cut short or broken here: the rest of the file cannot be read`,
      text: tail,
    },
  };
}
