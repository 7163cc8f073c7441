/**
 * The capture API, compatible with the PostHog SDKs: `POST /e/`, `/i/v0/e/`, `/capture/`,
 * `/batch/`, `/track/` (with or without the trailing slash). Decoding: capture/payload.ts. The
 * events are checked by the events importer's rules, the good ones appended to the capture log
 * (capture/log.ts), and the answer is 200 once they are durable there; the loader stores them
 * (capture/loader.ts). While the log holds more than its cap the answer is 503 with Retry-After.
 * `/flags/` and `/decide/` answer "no flags" in the shape both SDKs accept.
 *
 * A capture is answered by `answerCapture`, which knows no framework: the Hono route below calls
 * it, and so does the Node listener of `sextant serve` (app.ts `createServerApp`) without going
 * through Hono — on the single-event path Hono's web `Request`/`Response` and the CORS
 * middleware's header copies were a third of the server's work per request (docs/http.md).
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { ServerDeps } from '../app.js';
import { sameSecret } from '../auth.js';
import { inflate, readBody, readIncomingBody } from '../capture/body.js';
import { decodeCapture } from '../capture/payload.js';
import type { CaptureService, Rejected } from '../capture/service.js';

export const CAPTURE_PATHS = ['/e', '/i/v0/e', '/capture', '/batch', '/track'] as const;
const FLAG_PATHS = ['/flags', '/decide'] as const;

/** Every path a capture is posted to, with and without its trailing slash. */
export const CAPTURE_ROUTES: ReadonlySet<string> = new Set(CAPTURE_PATHS.flatMap((p) => [p, p + '/']));

export const NO_FLAGS = {
  featureFlags: {},
  featureFlagPayloads: {},
  errorsWhileComputingFlags: false,
  flags: {},
} as const;

/** What a capture request carries, however it arrived (Hono's context or Node's request). */
export interface CaptureCall {
  /** The routed path, e.g. `/batch/`. */
  path: string;
  header(name: string): string | undefined;
  /** The query parameters (first value of each), decoded as Hono decodes them. */
  query(): Record<string, string>;
  /** The body as sent, capped (capture/body.ts): a 413 `HTTPException` past the cap. */
  body(): Promise<Buffer>;
}

/** The answer to a capture: a JSON body, its status and any extra header. */
export interface CaptureAnswer {
  status: 200 | 400 | 401 | 503;
  body: unknown;
  headers?: Record<string, string>;
}

export function captureRoutes(d: ServerDeps): Hono {
  const app = new Hono();
  // posthog-js posts from the product's own pages, another origin: answer its preflight and let
  // it read the answer (the project key is public by design, as in PostHog).
  const crossOrigin = cors({
    origin: (origin) => origin || '*',
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Content-Encoding'],
    maxAge: 86400,
  });
  for (const p of CAPTURE_ROUTES) {
    app.use(p, crossOrigin);
    app.post(p, async (c) => {
      const a = await answerCapture(d, await d.capture, honoCall(c));
      return c.json(a.body, a.status, a.headers);
    });
  }
  for (const path of FLAG_PATHS) {
    for (const p of [path, path + '/']) {
      app.use(p, crossOrigin);
      app.on(['GET', 'POST'], p, (c) => c.json(NO_FLAGS));
    }
  }
  return app;
}

function honoCall(c: Context): CaptureCall {
  return {
    path: c.req.path,
    header: (name) => c.req.header(name),
    query: () => c.req.query(),
    // Under Node, read from the request itself (cheaper than the web Request's stream).
    body: () => {
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      return incoming ? readIncomingBody(incoming) : readBody(c.req.raw);
    },
  };
}

/**
 * The project key a request carries outside its body: `?api_key=`, `?token=`, or
 * `Authorization: Bearer <key>`. Checked before the body is read, let alone decompressed.
 */
function keysOutsideBody(call: CaptureCall, query: Record<string, string>): string[] {
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(call.header('authorization') ?? '')?.[1];
  return [query.api_key, query.token, auth].filter((k): k is string => Boolean(k));
}

/**
 * Answers one capture. A body that cannot be read or decoded throws (`InputError` → 400,
 * `HTTPException` 413 past the caps), for the caller's one error handler (app.ts `errorAnswer`).
 */
export async function answerCapture(
  d: ServerDeps,
  service: CaptureService,
  call: CaptureCall,
): Promise<CaptureAnswer> {
  const query = call.query();
  const outside = keysOutsideBody(call, query);
  if (!outside.every((t) => sameSecret(t, d.projectKey))) {
    return { status: 401, body: { error: 'wrong api_key/token for this project' } };
  }
  if (service.full()) return busy(service);
  const recorded = await decodeAndRecord(d, service, call, query, outside.length > 0);
  if ('status' in recorded) return recorded;
  // Only the good events' record waits for the fdatasync: the request's parsed JSON is garbage
  // by now (see `CaptureService.check`).
  await recorded.durable;
  const { rejected, count } = recorded;
  if (rejected.length > 0) {
    const first = rejected[0]!;
    return {
      status: 400,
      body: {
        error: `batch[${first.index}]${first.field ? `, field '${first.field}'` : ''}: ${first.reason} (${rejected.length} of ${count} events rejected; the others were stored)`,
        rejected,
      },
    };
  }
  return { status: 200, body: { status: 1 } };
}

/**
 * The body read and decoded, its keys and events checked, its good events handed to the log:
 * the answer when that is all there is to say, else what the answer needs once `durable`
 * resolves (the log's fdatasync).
 */
async function decodeAndRecord(
  d: ServerDeps,
  service: CaptureService,
  call: CaptureCall,
  query: Record<string, string>,
  keyOutside: boolean,
): Promise<CaptureAnswer | { rejected: Rejected[]; count: number; durable: Promise<void> }> {
  // Capped on the wire and once decompressed (413 past either): memory stays bounded.
  const body = await inflate(await call.body());
  const payload = decodeCapture({ body, contentType: call.header('content-type'), query, now: d.now() });
  if (payload.tokens.length === 0 && !keyOutside) {
    return { status: 401, body: { error: 'no api_key or token: send the project key' } };
  }
  if (!payload.tokens.every((t) => sameSecret(t, d.projectKey))) {
    return { status: 401, body: { error: 'wrong api_key/token for this project' } };
  }
  if (payload.events.length === 0) return { status: 200, body: { status: 1 } };
  const checked = await service.check(payload.events, d.now());
  return {
    rejected: checked.rejected,
    count: checked.count,
    durable: service.record(checked, `capture:${call.path}`),
  };
}

/**
 * 503 while the unloaded log is past its cap (back-pressure: the loader is behind). The SDKs
 * retry; Retry-After says when.
 */
function busy(service: CaptureService): CaptureAnswer {
  return {
    status: 503,
    body: {
      error: `the capture log holds ${service.log.unloadedBytes()} bytes not yet loaded into the store (cap ${service.maxBytes}): retry shortly`,
    },
    headers: { 'Retry-After': '1' },
  };
}
