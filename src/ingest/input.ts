/**
 * Reading an input file and writing its rejects, shared by the billing and feedback importers
 * (docs/ingest.md, "Rejects").
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import { InputError } from '../errors.js';

export interface InputBytes {
  /** The file's bytes, unzipped when it is gzip (by its magic bytes, whatever its name). */
  bytes: Buffer;
  gzip: boolean;
  /**
   * Set when the gzip stream is damaged (truncated or corrupt): `bytes` is its readable part up
   * to the last complete line, `tail` the cut line after it, `reason` what happened. The
   * importer rejects the tail and the unreadable rest as one record, so the damage is counted.
   */
  damage?: { reason: string; tail: Buffer };
}

/** Reads `file` whole (billing and feedback files are small enough); InputError naming it. */
export async function readInput(file: string): Promise<InputBytes> {
  let raw: Buffer;
  try {
    if (statSync(file).isDirectory()) throw new InputError('is a directory, not a file', { file });
    raw = readFileSync(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file,
    });
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return { bytes: raw, gzip: false };
  const { data, error } = await gunzipPartial(raw);
  if (!error) return { bytes: data, gzip: true };
  const cut = data.lastIndexOf(0x0a) + 1;
  return {
    bytes: data.subarray(0, cut),
    gzip: true,
    damage: {
      reason: `the gzip data is damaged after ${data.length} bytes (${error}): the rest of the file cannot be read`,
      tail: data.subarray(cut),
    },
  };
}

/**
 * Unzips as much as can be read: the output before a truncation or corruption, and the error.
 * A stream's error drops the output of the step that failed (for a bad CRC in the trailer, the
 * end of a file whose data is whole), so the readable part is then found again: the longest
 * prefix of the file that unzips without an error, cut streams unzipping as far as they go (a
 * binary search: log2(size) passes, only for a damaged file, and these files are read whole).
 */
async function gunzipPartial(raw: Buffer): Promise<{ data: Buffer; error?: string }> {
  const streamed = await new Promise<{ data: Buffer; error?: string }>((resolve) => {
    const chunks: Buffer[] = [];
    const gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => chunks.push(c));
    gunzip.on('error', (e: Error) => resolve({ data: Buffer.concat(chunks), error: e.message }));
    gunzip.on('end', () => resolve({ data: Buffer.concat(chunks) }));
    gunzip.end(raw);
  });
  if (!streamed.error) return streamed;
  const prefix = (n: number): Buffer | undefined => {
    try {
      return gunzipSync(raw.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
  };
  let lo = 0;
  let hi = raw.length + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (prefix(mid)) lo = mid;
    else hi = mid;
  }
  const data = prefix(lo) ?? Buffer.alloc(0);
  return { data: data.length > streamed.data.length ? data : streamed.data, error: streamed.error };
}

/**
 * Where the rejected records of one import of `file` go: `<dir>/<basename>.<UTC time>.rejects`
 * (the CLI's `dir` is `rejects/` beside the database file). A second import of the same file in
 * the same second gets `.2`, `.3`… rather than overwriting.
 */
export function rejectsPath(dir: string, file: string, now = new Date()): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = join(dir, `${basename(file)}.${time}`);
  let path = `${base}.rejects`;
  for (let n = 2; existsSync(path); n++) path = `${base}.${n}.rejects`;
  return path;
}

/**
 * Writes the rejected records, verbatim (bytes as read, invalid UTF-8 included), one per line,
 * after `header` (a CSV's header line, so the file re-imports once fixed). Returns its path.
 */
export function writeRejects(
  dir: string,
  file: string,
  records: readonly (Buffer | string)[],
  header?: Buffer | string,
): string {
  mkdirSync(dir, { recursive: true });
  const out = rejectsPath(dir, file);
  const parts: Buffer[] = [];
  for (const r of header === undefined ? records : [header, ...records]) {
    parts.push(typeof r === 'string' ? Buffer.from(r) : r, Buffer.from('\n'));
  }
  writeFileSync(out, Buffer.concat(parts));
  return out;
}
