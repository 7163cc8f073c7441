/**
 * `createApp`: the whole HTTP surface of `sextant serve` (SPEC §7) on one Hono app — capture API,
 * Stripe webhook, JSON API, web UI — with ONE error handler: `InputError` → 400, anything else →
 * 500, both as JSON `{error}`. Routes: routes/{capture,webhooks,api,ui}.ts. Contract: docs/http.md.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { Engine } from '../store/engine.js';
import { requireAdmin } from './auth.js';
import { CaptureService } from './capture/service.js';
import { apiRoutes } from './routes/api.js';
import { serverReads } from './context.js';
import { captureRoutes } from './routes/capture.js';
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
    if (err instanceof InputError) return c.json({ error: err.message }, 400);
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    d.log(`sextant serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json({ error: 'internal error (logged by the server)' }, 500);
  });
  return app;
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
