/**
 * Reading a capture request's body with hard caps, so that no request, authenticated or not, can
 * take more than a bounded amount of memory: at most `MAX_BODY_BYTES` are read off the wire (a
 * larger `Content-Length` is refused before reading), and a gzip body (magic bytes `1f 8b`) is
 * decompressed as a stream that stops at `MAX_DECODED_BYTES` of output. Past either cap: 413.
 * A gzip body that does not decompress is an `InputError` (400). Before this, a 2 MB gzip bomb
 * was decompressed whole: 4.4 GB and 18.7 s before its 400.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, gunzipSync } from 'node:zlib';
import { HTTPException } from 'hono/http-exception';
import { InputError } from '../../errors.js';

/** PostHog's own capture limit is 20 MB per request; the same holds once decompressed. */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;
export const MAX_DECODED_BYTES = 20 * 1024 * 1024;

function tooLarge(what: string, cap: number): HTTPException {
  return new HTTPException(413, { message: `${what} is larger than ${cap} bytes (the capture limit)` });
}

/** The body as sent, at most `cap` bytes (413 past it). */
export async function readBody(req: Request, cap = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > cap) throw tooLarge('the body', cap);
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge('the body', cap);
    }
    parts.push(value);
  }
  return Buffer.concat(parts, size);
}

/**
 * The same from Node's request itself (`c.env.incoming` under @hono/node-server): no web
 * `Request`, `ReadableStream` and abort signal made per request for a body of a few hundred
 * bytes — on the single-event path those were most of the server's own work per request.
 */
export function readIncomingBody(incoming: IncomingMessage, cap = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(incoming.headers['content-length'] ?? NaN);
  if (declared > cap) return Promise.reject(tooLarge('the body', cap));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = (e?: Error): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', done);
      if (e) reject(e);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > cap) {
        // As a web stream's cancel does: no more of it is read.
        done(tooLarge('the body', cap));
        incoming.destroy();
        return;
      }
      parts.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
    };
    if (incoming.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', done);
  });
}

/** Bodies up to this size (compressed) are inflated synchronously, to at most this much output. */
const SYNC_INFLATE_BYTES = 1024 * 1024;

function notGzip(e: Error): InputError {
  return new InputError(`the body starts like gzip (1f 8b) but does not decompress: ${e.message}`, {
    field: 'body',
  });
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * `bytes` decompressed when they are gzip (whatever the headers say: posthog-js labels bodies
 * inconsistently), else as they are. The output is counted as it streams out of zlib and the
 * stream destroyed past `cap` (413), so a bomb costs at most `cap` bytes of memory.
 */
export function inflate(bytes: Buffer, cap = MAX_DECODED_BYTES): Promise<Buffer> {
  if (!isGzip(bytes)) return Promise.resolve(bytes);
  // A batch from an SDK (a few kB of gzip, tens of kB of JSON) is inflated at once on this thread:
  // the stream below costs a threadpool round trip per piece and most of a batch's time on the
  // HTTP thread went to its machinery. At most SYNC_INFLATE_BYTES come out that way (about a
  // millisecond of work, whatever the body claims); a body that gives more goes to the stream.
  if (bytes.length <= SYNC_INFLATE_BYTES) {
    try {
      return Promise.resolve(gunzipSync(bytes, { maxOutputLength: Math.min(cap, SYNC_INFLATE_BYTES) }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE')
        return Promise.reject(notGzip(e as Error));
    }
  }
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip();
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    gunzip.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > cap) {
        over = true;
        gunzip.destroy();
        reject(tooLarge('the body once decompressed', cap));
        return;
      }
      parts.push(chunk);
    });
    gunzip.on('end', () => resolve(Buffer.concat(parts, size)));
    gunzip.on('error', (e) => {
      if (!over) reject(notGzip(e));
    });
    gunzip.end(bytes);
  });
}
