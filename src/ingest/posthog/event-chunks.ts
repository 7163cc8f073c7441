/**
 * Event files as the import reads them, before any engine does: cut into chunks of whole lines
 * (`lineChunks`), checked for gzip damage (`gzipDamage`, `unzipLines`), sized (`uncompressedSize`).
 * Plain Node streams, whatever the store (docs/ingest.md, "Loading plan").
 */
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { faultPoint } from '../../store/fault.js';
import { removeScratch, scratchDir } from '../../store/scratch.js';

/** At most this many bytes of uncompressed JSON Lines per chunk, whatever its lines. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024 * 1024;

/**
 * The file's lines in consecutive chunk files under `dir`, gunzipped, cut after a newline (no line
 * is split). A chunk holds `chunkLines(k)` lines (the engine's choice: DuckDB's is whole row
 * groups' worth), or fewer when it reaches `chunkBytes`: each chunk is committed on its own,
 * and a part-filled row group left by one is rewritten when the checkpoint merges it with the
 * next (1M demo events in chunks cut by size alone: 0.8 s of checkpoint; cut by lines: none).
 * Each chunk is written while the caller works on the previous one (the generator runs ahead to
 * its next `yield`).
 *
 * On a damaged gzip stream it throws after the chunks it cut before the damage; the line path
 * then reads the readable part with `unzipLines`, which must give at least every line those
 * chunks held (they are sorted out as this import's own duplicates). It does: both read the file
 * in the same 1 MiB pieces, gunzip pushes its output at the end of each piece and whenever its
 * output buffer fills (every 64 KiB there, a multiple of which is 1 MiB here), and `unzipLines`
 * keeps every push, so its prefix is never shorter (import-gzip.test.ts cuts a file at 12 points).
 */
export async function* lineChunks(
  file: string,
  gzip: boolean,
  dir: string,
  chunkBytes: number,
  chunkLines: (k: number) => number,
): AsyncGenerator<string> {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = gzip ? input.pipe(createGunzip({ chunkSize: 1 << 20 })) : input;
  // Written as it comes (never a whole chunk in memory: the import's RSS is DuckDB's).
  let out: FileHandle | undefined;
  let path = '';
  let size = 0;
  let lines = 0;
  let n = 0;
  const write = async (buf: Buffer): Promise<void> => {
    if (!out) {
      faultPoint('chunk file');
      path = join(dir, `chunk-${n++}.jsonl`);
      out = await open(path, 'w');
    }
    await out.write(buf);
    size += buf.length;
  };
  const close = async (): Promise<string> => {
    await out?.close();
    out = undefined;
    size = 0;
    lines = 0;
    return path;
  };
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      let buf = read;
      for (;;) {
        // The chunk being written is number n - 1 once open, n before.
        const k = out ? n - 1 : n;
        const maxLines = chunkLines(k);
        // The chunk ends at its maxLines-th line or at the first newline at or past chunkBytes.
        let cut = -1;
        for (let pos = 0; ;) {
          const nl = buf.indexOf(10, pos);
          if (nl < 0) break;
          lines++;
          pos = nl + 1;
          if (lines >= maxLines || size + pos >= chunkBytes) {
            cut = nl;
            break;
          }
        }
        if (cut < 0) {
          if (buf.length > 0) await write(buf);
          break;
        }
        await write(buf.subarray(0, cut + 1));
        yield await close();
        buf = buf.subarray(cut + 1);
      }
    }
    if (out || n === 0) {
      if (!out) await write(Buffer.alloc(0));
      yield await close();
    }
  } finally {
    await out?.close();
    input.destroy();
  }
}

// eslint-disable-next-line @typescript-eslint/require-await
export async function* oneChunk(file: string): AsyncGenerator<string> {
  yield file;
}

/**
 * The file's size once unzipped. For gzip, the trailer's ISIZE (the size modulo 4 GiB of the
 * last member): a file whose trailer says more than it is, or a multi-member file, at worst is
 * staged whole and spilled to disk by DuckDB, slower but the same result.
 */
export async function uncompressedSize(file: string, gzip: boolean): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (!gzip) return size;
    if (size < 18) return 0;
    const tail = Buffer.alloc(4);
    await fh.read(tail, 0, 4, size - 4);
    const isize = tail.readUInt32LE(0);
    // ISIZE wraps at 4 GiB; no text compresses 64-fold in practice.
    return Math.max(isize, size * 64 > 2 ** 32 ? Infinity : 0);
  } finally {
    await fh.close();
  }
}

export interface GzipDamage {
  /** What went wrong and where (the detail of the `gzipCut` rejected record). */
  reason: string;
  /** The readable part's complete lines. */
  lines: number;
  /** With `write`: those lines, uncompressed, in `path` in the scratch folder `dir`. */
  path?: string;
  dir?: string;
}

/**
 * Whether the gzip stream of `file` is damaged (truncated or corrupt), found by unzipping it to
 * its end: undefined when it is whole. DuckDB's readers do not say so (a truncated stream reads
 * as a shorter file, a corrupt one as garbage lines). With `write`, the readable part up to its
 * last complete line is written uncompressed to a scratch folder beside the store. Streamed:
 * memory stays flat.
 */
export async function gzipDamage(file: string, target?: string): Promise<GzipDamage | undefined> {
  const dir = target === undefined ? undefined : scratchDir(target);
  const path = dir && join(dir, 'readable-part');
  const out = path ? await open(path, 'w') : undefined;
  try {
    let read = await unzipLines(file, out);
    if (read.error === undefined) {
      if (dir) removeScratch(dir);
      return undefined;
    }
    const { error } = read;
    // A bad CRC or size in the trailer: the data is whole, but the failing step's output was
    // dropped with the error. Unzipped again without the trailer, it all comes out.
    if (out && /incorrect (data|length) check/.test(error)) {
      await out.truncate(0);
      const again = await unzipLines(file, out, (await stat(file)).size - 8);
      if (again.error === undefined) read = again;
    }
    const reason = `damaged after ${read.size} bytes unzipped (${error}); the rest of the file cannot be read`;
    return { reason, lines: read.lines, path, dir };
  } finally {
    await out?.close();
  }
}

/**
 * Unzips `file` (its first `length` bytes, as a cut stream, when given) into `out` (when given),
 * up to its last complete line: the bytes unzipped, the complete lines, the error if any.
 */
async function unzipLines(
  file: string,
  out: FileHandle | undefined,
  length?: number,
): Promise<{ size: number; lines: number; error?: string }> {
  let size = 0;
  let complete = 0; // bytes up to and including the last newline
  let lines = 0;
  let error: string | undefined;
  try {
    const input = createReadStream(file, {
      highWaterMark: 1 << 20,
      ...(length === undefined ? {} : { end: Math.max(0, length - 1) }),
    });
    const stream = input.pipe(
      // Small output chunks: what unzipped before an error is kept (a large chunk is dropped whole).
      createGunzip({
        chunkSize: 1 << 16,
        ...(length === undefined ? {} : { finishFlush: zlibConstants.Z_SYNC_FLUSH }),
      }),
    );
    // Every piece the stream emits is kept, in order, even when an error follows it at once
    // (iterating the stream with `for await` could drop the pieces still queued behind the error,
    // so the readable part came out shorter on some runs than what the chunked path had stored).
    // Not paused (a paused stream drops what it buffered when the error comes): the writes queue
    // behind each other, and a local disk writes faster than gunzip inflates, so the queue stays short.
    let writing: Promise<unknown> = Promise.resolve();
    error = await new Promise<string | undefined>((resolve) => {
      stream.on('data', (buf: Buffer) => {
        for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, nl + 1)) {
          lines++;
          complete = size + nl + 1;
        }
        const at = size;
        size += buf.length;
        if (out) writing = writing.then(() => out.write(buf, 0, buf.length, at));
      });
      stream.on('error', (e) => resolve(e.message));
      input.on('error', (e) => resolve(e.message));
      stream.on('end', () => resolve(undefined));
    });
    await writing;
  } catch (e) {
    error = (e as Error).message;
  }
  await out?.truncate(complete);
  return { size, lines, error };
}
