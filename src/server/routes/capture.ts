/**
 * The capture API, compatible with the PostHog SDKs: `POST /e/`, `/i/v0/e/`, `/capture/`,
 * `/batch/`, `/track/` (with or without the trailing slash). Decoding: capture/payload.ts. The
 * events go through the events importer (validation, dedupe on uuid, identity, groups), one
 * write at a time, concurrent requests grouped into one import (capture/batcher.ts), and the
 * answer is 200 only after the import committed. `/flags/` and
 * `/decide/` answer "no flags" in the shape both SDKs accept.
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { importEvents } from '../../ingest/posthog/import-events.js';
import type { ImportReport } from '../../ingest/report.js';
import type { ServerDeps } from '../app.js';
import { sameSecret } from '../auth.js';
import { CaptureBatcher } from '../capture/batcher.js';
import { inflate, readBody } from '../capture/body.js';
import { decodeCapture, type CapturedEvent } from '../capture/payload.js';

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
  const batcher = new CaptureBatcher((events, source) => storeEvents(d, events, source), d.queue);
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
      app.post(p, (c) => capture(c, d, batcher));
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

async function capture(c: Context, d: ServerDeps, batcher: CaptureBatcher): Promise<Response> {
  const outside = keysOutsideBody(c);
  if (!outside.every((t) => sameSecret(t, d.projectKey))) {
    return c.json({ error: 'wrong api_key/token for this project' }, 401);
  }
  // Capped on the wire and once decompressed (413 past either): memory stays bounded.
  const body = await inflate(await readBody(c.req.raw));
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
  const rejected = await batcher.submit(payload.events, `capture:${c.req.path}`);
  if (rejected.length > 0) {
    const list = rejected.map((r) => ({ index: r.line - 1, field: r.field, reason: r.reason }));
    const first = list[0]!;
    return c.json(
      {
        error: `batch[${first.index}]${first.field ? `, field '${first.field}'` : ''}: ${first.reason} (${list.length} of ${payload.events.length} events rejected; the others were stored)`,
        rejected: list,
      },
      400,
    );
  }
  return c.json({ status: 1 });
}

/** Stages the batch as JSON Lines and imports it: the importer is the one door events come in by. */
async function storeEvents(d: ServerDeps, events: CapturedEvent[], source: string): Promise<ImportReport> {
  const file = join(d.spoolDir, `capture-${randomUUID()}.jsonl`);
  await writeFile(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  try {
    return await importEvents(d.engine, file, { source, rejectsDir: d.rejectsDir });
  } finally {
    await rm(file, { force: true });
  }
}
