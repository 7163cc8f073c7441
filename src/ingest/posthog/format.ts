import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../errors.js';

/** The event file formats of SPEC §3.1; each may be gzip-compressed. */
export type EventFileFormat = 'jsonl' | 'json-array' | 'csv' | 'parquet';

export interface EventFileKind {
  format: EventFileFormat;
  gzip: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = 'PAR1';

/**
 * Decides a file's format from its content first and its name second: gzip by the magic bytes
 * `1f 8b` (whatever the extension), Parquet by `PAR1`, a `.json` file holding JSON Lines by its
 * first character (`[` is an array, `{` is JSON Lines), CSV by a `.csv` name.
 */
export async function detectEventFile(file: string): Promise<EventFileKind> {
  const head = await readHead(file, 64 * 1024);
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const content = gzip ? gunzipHead(head) : head;
  const name = file.toLowerCase().replace(/\.gz$/, '');

  if (content.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) return { format: 'parquet', gzip };
  if (name.endsWith('.parquet')) throw new InputError('not a Parquet file (no PAR1 header)', { file });
  if (name.endsWith('.csv')) return { format: 'csv', gzip };

  const first = /\S/.exec(content.toString('utf8'))?.[0];
  if (first === '[') return { format: 'json-array', gzip };
  return { format: 'jsonl', gzip };
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, { file });
  }
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The start of a gzip stream, decompressed as far as the bytes we have allow. */
function gunzipHead(head: Buffer): Buffer {
  try {
    return gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate a truncated stream */ });
  } catch {
    return Buffer.alloc(0);
  }
}
