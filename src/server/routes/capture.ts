/**
 * The capture API, compatible with the PostHog SDKs: `POST /e/`, `/i/v0/e/`, `/capture/`,
 * `/batch/`, `/track/` (with or without the trailing slash). Decoding: capture/payload.ts. The
 * events are checked by the events importer's rules, the good ones appended to the capture log
 * (capture/log.ts), and the answer is 200 once they are durable there; the loader stores them
 * (capture/loader.ts). While the log holds more than its cap the answer is 503 with Retry-After.
 * `/flags/` and `/decide/` answer "no flags" in the shape both SDKs accept.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { ServerDeps } from '../app.js';
import { sameSecret } from '../auth.js';
import { inflate, readBody, readIncomingBody } from '../capture/body.js';
import { decodeCapture } from '../capture/payload.js';
import type { CaptureService } from '../capture/service.js';

export const CAPTURE_PATHS = ['/e', '/i/v0/e', '/capture', '/batch', '/track'] as const;
const FLAG_PATHS = ['/flags', '/decide'] as const;

export const NO_FLAGS = {
  featureFlags: {},
  featureFlagPayloads: {},
  errorsWhileComputingFlags: false,
  flags: {},
} as const;

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
  for (const path of CAPTURE_PATHS) {
    for (const p of [path, path + '/']) {
      app.use(p, crossOrigin);
      app.post(p, async (c) => capture(c, d, await d.capture));
    }
  }
  for (const path of FLAG_PATHS) {
    for (const p of [path, path + '/']) {
      app.use(p, crossOrigin);
      app.on(['GET', 'POST'], p, (c) => c.json(NO_FLAGS));
    }
  }
  return app;
}

/**
 * The project key a request carries outside its body: `?api_key=`, `?token=`, or
 * `Authorization: Bearer <key>`. Checked before the body is read, let alone decompressed.
 */
function keysOutsideBody(c: Context): string[] {
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
  return [c.req.query('api_key'), c.req.query('token'), auth].filter((k): k is string => Boolean(k));
}

async function capture(c: Context, d: ServerDeps, service: CaptureService): Promise<Response> {
  const outside = keysOutsideBody(c);
  if (!outside.every((t) => sameSecret(t, d.projectKey))) {
    return c.json({ error: 'wrong api_key/token for this project' }, 401);
  }
  if (service.full()) return busy(c, service);
  // Capped on the wire and once decompressed (413 past either): memory stays bounded.
  // Under Node, read from the request itself (cheaper than the web Request's stream).
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const body = await inflate(await (incoming ? readIncomingBody(incoming) : readBody(c.req.raw)));
  const payload = decodeCapture({
    body,
    contentType: c.req.header('content-type'),
    query: c.req.query(),
    now: d.now(),
  });
  if (payload.tokens.length === 0 && outside.length === 0) {
    return c.json({ error: 'no api_key or token: send the project key' }, 401);
  }
  if (!payload.tokens.every((t) => sameSecret(t, d.projectKey))) {
    return c.json({ error: 'wrong api_key/token for this project' }, 401);
  }
  if (payload.events.length === 0) return c.json({ status: 1 });
  const rejected = await service.accept(payload.events, `capture:${c.req.path}`, d.now());
  if (rejected.length > 0) {
    const first = rejected[0]!;
    return c.json(
      {
        error: `batch[${first.index}]${first.field ? `, field '${first.field}'` : ''}: ${first.reason} (${rejected.length} of ${payload.events.length} events rejected; the others were stored)`,
        rejected,
      },
      400,
    );
  }
  return c.json({ status: 1 });
}

/**
 * 503 while the unloaded log is past its cap (back-pressure: the loader is behind). The SDKs
 * retry; Retry-After says when, from how far past the cap the log is.
 */
function busy(c: Context, service: CaptureService): Response {
  c.header('Retry-After', '1');
  return c.json(
    {
      error: `the capture log holds ${service.log.unloadedBytes()} bytes not yet loaded into the store (cap ${service.maxBytes}): retry shortly`,
    },
    503,
  );
}
