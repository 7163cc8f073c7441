/**
 * `createApp`: the whole HTTP surface of `sextant serve` (SPEC §7) on one Hono app — capture API,
 * Stripe webhook, JSON API, web UI — with ONE error handler (`errorAnswer`): `InputError` → 400,
 * anything else → 500, both as JSON `{error}`. Routes: routes/{capture,webhooks,api,ui}.ts.
 * Contract: docs/http.md. `createServerApp` adds the Node listener `sextant serve` listens with,
 * which answers capture POSTs without Hono (same answers: routes/capture.ts `answerCapture`).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { requireAdmin } from './auth.js';
import { CaptureService } from './capture/service.js';
import { apiRoutes } from './routes/api.js';
import { serverReads } from './context.js';
import { answerCapture, CAPTURE_ROUTES, captureRoutes, type CaptureAnswer } from './routes/capture.js';
import { readIncomingBody } from './capture/body.js';
import { getQueryParam } from 'hono/utils/url';
import { uiRoutes } from './routes/ui.js';
import { webhookRoutes } from './routes/webhooks.js';
import { StoreQueue } from './store-queue.js';

export interface AppDeps {
  engine: Engine;
  config: Config;
  /** The capture API's project key (`api_key`/`token`). */
  projectKey: string;
  /** The JSON API's and web UI's admin token. */
  adminToken: string;
  /** The Stripe webhook signing secret; without it the webhook answers 503. */
  stripeWebhookSecret?: string;
  /** Runs store operations one at a time; pass one queue to every app on the same store. */
  queue?: StoreQueue;
  /**
   * The capture log and its loader (capture/service.ts). Default: one started on the store's
   * log folder (`captureLogDir`); pass one to close it, wait for its loads (`settle`), or share
   * it between apps on one store.
   */
  capture?: CaptureService | Promise<CaptureService>;
  /**
   * The use cases' reads: their own connections of the store (context.ts `serverReads`), made by
   * the app when absent; pass one to share it with the scheduler.
   */
  reads?: Engine;
  /** Where rejected captured events are written (none when absent). */
  rejectsDir?: string;
  now?: () => Date;
  /** Where 500s are logged (default: stderr). */
  log?: (line: string) => void;
}

/** `AppDeps` with every default filled in: what the route modules receive. */
export type ServerDeps = Required<Omit<AppDeps, 'stripeWebhookSecret' | 'rejectsDir' | 'capture' | 'reads'>> &
  Pick<AppDeps, 'stripeWebhookSecret' | 'rejectsDir'> & { capture: Promise<CaptureService>; reads: Engine };

export function createApp(deps: AppDeps): Hono {
  return createServerApp(deps).app;
}

/**
 * The app and the Node request listener that serves it: capture POSTs (routes/capture.ts
 * `CAPTURE_ROUTES`, matched exactly) are answered straight from Node's request and response by
 * `answerCapture`, everything else (and any other spelling of those paths) goes to Hono.
 */
export function createServerApp(
  deps: AppDeps,
  opts: { hostname?: string } = {},
): { app: Hono; listener: RequestListener } {
  const queue = deps.queue ?? new StoreQueue();
  const d: ServerDeps = {
    ...deps,
    queue,
    reads: deps.reads ?? serverReads({ engine: deps.engine, queue }),
    capture: Promise.resolve(deps.capture ?? startCapture({ ...deps, queue })),
    now: deps.now ?? (() => new Date()),
    log: deps.log ?? ((line) => process.stderr.write(line + '\n')),
  };
  const app = new Hono();
  app.route('/', captureRoutes(d));
  app.route('/', webhookRoutes(d));
  app.use('/api/*', requireAdmin(d.adminToken, 'api', d.now));
  app.route('/api', apiRoutes(d));
  // The web UI guards its own pages (its sign-in page is open).
  app.route('/', uiRoutes(d));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    const a = errorAnswer(err, d, c.req.method, c.req.path);
    return c.json(a.body, a.status);
  });
  // `hostname`: the host of a request's URL when it has no Host header (as @hono/node-server's `serve`).
  const hono = getRequestListener(app.fetch, { hostname: opts.hostname });
  const listener: RequestListener = (req, res) => {
    if (req.method === 'POST') {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (CAPTURE_ROUTES.has(path)) {
        captureOnNode(d, req, res, path, url).catch((e: Error) => {
          d.log(`sextant serve: POST ${path}: ${e.stack ?? e.message}`);
          res.destroy();
        });
        return;
      }
    }
    void hono(req, res);
  };
  return { app, listener };
}

/** The one mapping of errors to answers: `InputError` → 400, a Hono `HTTPException` → its status, else 500 (logged). */
export function errorAnswer(
  err: Error,
  d: Pick<ServerDeps, 'log'>,
  method: string,
  path: string,
): { status: ContentfulStatusCode; body: { error: string } } {
  if (err instanceof InputError) return { status: 400, body: { error: err.message } };
  if (err instanceof HTTPException) return { status: err.status, body: { error: err.message } };
  d.log(`sextant serve: ${method} ${path}: ${err.stack ?? err.message}`);
  return { status: 500, body: { error: 'internal error (logged by the server)' } };
}

/**
 * A capture POST answered on Node's objects: the same answer, status and headers as the Hono
 * route (CORS middleware included: `Access-Control-Allow-Origin` is the request's origin, else
 * `*`, with `Vary: Origin`), without a web `Request`/`Response` per request.
 */
async function captureOnNode(
  d: ServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: string,
): Promise<void> {
  let a: CaptureAnswer | ReturnType<typeof errorAnswer>;
  try {
    a = await answerCapture(d, await d.capture, {
      path,
      // Every copy of a header, joined as a web `Headers` joins them (Node keeps the first
      // copy of some, e.g. Authorization, in `headers`).
      header: (name) => req.headersDistinct[name.toLowerCase()]?.join(', '),
      // Hono's own query decoding (the URL needs a scheme and host in front of the path).
      query: () => (getQueryParam(`http://h${url}`) as Record<string, string> | undefined) ?? {},
      body: () => readIncomingBody(req),
    });
  } catch (e) {
    a = errorAnswer(e as Error, d, 'POST', path);
  }
  const json = JSON.stringify(a.body);
  const origin = req.headers.origin;
  res.writeHead(a.status, {
    'access-control-allow-origin': origin || '*',
    ...('headers' in a ? a.headers : undefined),
    'content-type': 'application/json',
    vary: 'Origin',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** The capture service an app starts when it is given none; a failure to open the log is a 500 per request. */
function startCapture(deps: AppDeps & { queue: StoreQueue }): Promise<CaptureService> {
  const started = CaptureService.start({
    engine: deps.engine,
    queue: deps.queue,
    config: deps.config,
    rejectsDir: deps.rejectsDir,
    report: deps.log,
  });
  started.catch(() => undefined);
  return started;
}
