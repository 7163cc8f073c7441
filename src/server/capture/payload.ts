/**
 * What the PostHog SDKs POST to the capture endpoints, decoded into SPEC §3.1 event records.
 * Pure: no I/O. The wire formats (posthog-js, posthog-node, PostHog's capture tests):
 * - the body may be gzip — recognised by its magic bytes `1f 8b`, whatever `?compression=` or the
 *   headers claim (posthog-js sends the query even when it fell back to another encoding); it is
 *   decompressed, with a cap, before it gets here (capture/body.ts);
 * - `application/x-www-form-urlencoded` `data=<base64 of JSON>` (posthog-js "base64" mode), a bare
 *   base64 body, or plain JSON;
 * - the JSON is one event, an array of events, or `{api_key|token, batch: [...], sent_at}`;
 * - an event's `distinct_id` is at the top level or in `properties`; its time is `timestamp`, or
 *   `offset` milliseconds before the batch's `sent_at` (else the `_` query parameter posthog-js
 *   sends with the send time, else now), or the send time itself.
 */
import { InputError } from '../../errors.js';
import { offsetSchema, sentAtSchema, timeBefore } from '../../ingest/posthog/rules.js';

/** One event as the events importer reads it (SPEC §3.1; top-level `$set`/`$set_once` allowed). */
export interface CapturedEvent {
  event: unknown;
  distinct_id: unknown;
  timestamp: unknown;
  properties: unknown;
  uuid?: unknown;
  $set?: unknown;
  $set_once?: unknown;
}

export interface CapturePayload {
  /** Every `api_key`/`token` the request carries (body, events' `properties.token`, query). */
  tokens: string[];
  events: CapturedEvent[];
}

export interface CaptureRequest {
  /** The body, decompressed already when it was gzip (capture/body.ts `inflate`). */
  body: Uint8Array;
  contentType: string | undefined;
  /** The query parameters (`api_key`, `token`, `_`, `compression`, …). */
  query: Record<string, string>;
  now: Date;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Decodes one capture request; a body that is none of the formats above is an `InputError`. */
export function decodeCapture(req: CaptureRequest): CapturePayload {
  const json = decodeBody(req.body, req.contentType);
  const envelope = isObj(json) && Array.isArray(json.batch) ? json : undefined;
  const list: unknown[] = envelope
    ? (envelope.batch as unknown[])
    : Array.isArray(json)
      ? json
      : isObj(json) && Array.isArray(json.data)
        ? json.data
        : [json];
  const sentAt = sendTime(envelope?.sent_at ?? (isObj(json) ? json.sent_at : undefined), req);
  const tokens = new Set<string>();
  const addToken = (t: unknown): void => {
    if (typeof t === 'string' && t !== '') tokens.add(t);
  };
  if (isObj(json)) {
    addToken(json.api_key);
    addToken(json.token);
  }
  addToken(req.query.api_key);
  addToken(req.query.token);
  const events = list.map((raw, i) => {
    if (!isObj(raw)) throw new InputError('an event must be a JSON object', { record: `batch[${i}]` });
    const props = isObj(raw.properties) ? raw.properties : {};
    addToken(raw.api_key);
    addToken(raw.token);
    addToken(props.token);
    return toEvent(raw, props, sentAt, i);
  });
  return { tokens: [...tokens], events };
}

function toEvent(raw: Obj, props: Obj, sentAt: Date, i: number): CapturedEvent {
  const out: CapturedEvent = {
    event: raw.event,
    distinct_id: raw.distinct_id ?? props.distinct_id ?? null,
    timestamp: raw.timestamp ?? timeFromOffset(raw.offset, sentAt, i),
    properties: raw.properties ?? {},
  };
  if (raw.uuid !== undefined && raw.uuid !== null) out.uuid = raw.uuid;
  if (raw.$set !== undefined) out.$set = raw.$set;
  if (raw.$set_once !== undefined) out.$set_once = raw.$set_once;
  return out;
}

/**
 * `offset` ms before the send time. The time is checked by the importer like any other (an
 * offset of 1e15 ms, year −29663, is rejected there as before 1970, with the event named); only
 * a time no date can hold is refused here.
 */
function timeFromOffset(offset: unknown, sentAt: Date, i: number): string {
  if (offset === undefined || offset === null) return sentAt.toISOString();
  const ms = offsetSchema.safeParse(offset);
  if (!ms.success) {
    throw new InputError('must be a number of milliseconds', { record: `batch[${i}]`, field: 'offset' });
  }
  const t = timeBefore(sentAt, ms.data);
  if (t === undefined) {
    throw new InputError(`${offset as number} ms before sent_at is no date`, {
      record: `batch[${i}]`,
      field: 'offset',
    });
  }
  return t;
}

/**
 * The batch's send time: body `sent_at` (a real calendar date: `2025-02-30` is an error, not
 * March 2), else the `_` query parameter (ms), else now. A value that is not a time JS can
 * represent is a 400 naming it (a huge `?_=` was a 500).
 */
function sendTime(sentAt: unknown, req: CaptureRequest): Date {
  if (sentAt !== undefined && sentAt !== null) {
    const d = sentAtSchema.safeParse(sentAt);
    if (!d.success) {
      throw new InputError(d.error.issues[0]?.message ?? 'not a time', { field: 'sent_at' });
    }
    return d.data;
  }
  if (req.query._) {
    const d = /^\d{1,16}$/.test(req.query._) ? new Date(Number(req.query._)) : undefined;
    if (!d || Number.isNaN(d.getTime())) {
      throw new InputError('must be the send time in milliseconds since 1970', { field: '_' });
    }
    if (d.getTime() > 0) return d;
  }
  return req.now;
}

/** Form `data=` (unless it is already JSON) → JSON or base64 of JSON. Gzip is inflated before. */
export function decodeBody(body: Uint8Array, contentType: string | undefined): unknown {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new InputError('gzip inside gzip, or a gzip body that was not decompressed', { field: 'body' });
  }
  let text = utf8(bytes).replace(/^\uFEFF/, '');
  // The content type is a hint only: JSON (e.g. gzip-decoded) is JSON whatever the label says.
  const form = (contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
  if (!/^\s*[[{]/.test(text) && (form || /^data=/.test(text))) {
    const params = new URLSearchParams(text);
    const compression = params.get('compression');
    if (compression && compression !== 'base64') {
      throw new InputError(`unsupported compression '${compression}' (send gzip, base64 or JSON)`, {
        field: 'compression',
      });
    }
    const data = params.get('data');
    if (data === null) throw new InputError('a form body needs a `data` field', { field: 'data' });
    text = data;
  }
  return parseJsonOrBase64(text.trim());
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`; invalid UTF-8 is an error, never replaced by U+FFFD. */
function utf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InputError('the body is not valid UTF-8', { field: 'body' });
  }
}

function parseJsonOrBase64(text: string): unknown {
  if (text === '') throw new InputError('the body is empty', { field: 'body' });
  const first = text[0];
  if (first !== '{' && first !== '[') {
    // A form decoder reads an unescaped '+' as a space; base64 has no spaces, so put them back.
    text = text.replace(/ /g, '+');
    if (!/^[A-Za-z0-9+/_-]+=*$/.test(text)) {
      throw new InputError('not JSON, base64 of JSON, a form body or gzip', { field: 'body' });
    }
    text = utf8(Buffer.from(text, 'base64')).trim();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { field: 'body' });
  }
}
