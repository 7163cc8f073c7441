import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createServerApp, type AppDeps } from '../../src/server/app.js';
import { CaptureService } from '../../src/server/capture/service.js';
import { serverReads } from '../../src/server/context.js';
import { StoreQueue } from '../../src/server/store-queue.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import type { Engine } from '../../src/store/engine.js';

export const PROJECT_KEY = 'phc_test_project_key';
export const ADMIN_TOKEN = 'admin-test-token';
export const WEBHOOK_SECRET = 'whsec_test_secret';

export interface TestServer {
  engine: Engine;
  app: Hono;
  config: Config;
  dir: string;
  queue: StoreQueue;
  /** The app's reads: its own connections of the store (server/context.ts `serverReads`). */
  reads: Engine;
  /** The capture log and its loader: `await t.capture.settle()` before reading captured events. */
  capture: CaptureService;
  /** `http://127.0.0.1:<port>` once `listen()` ran. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** A real DuckDB file in a temp folder and the app on it; `listen()` puts it on a loopback port. */
export async function startTestServer(
  overrides: Partial<AppDeps> = {},
  configInput: unknown = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-serve-'));
  const engine = await DuckDbEngine.open(join(dir, 'store.duckdb'));
  await engine.migrate();
  const config = configSchema.parse(configInput);
  const queue = overrides.queue ?? new StoreQueue();
  const capture = await CaptureService.start({
    engine,
    queue,
    config,
    dir: join(dir, 'capture-log'),
    rejectsDir: overrides.rejectsDir,
    report: () => undefined,
    delayMs: 0,
  });
  const reads = overrides.reads ?? serverReads({ engine, queue });
  const { app, listener } = createServerApp({
    engine,
    reads,
    config,
    projectKey: PROJECT_KEY,
    adminToken: ADMIN_TOKEN,
    stripeWebhookSecret: WEBHOOK_SECRET,
    log: () => undefined,
    queue,
    capture,
    ...overrides,
  });
  let server: Server | undefined;
  const t: TestServer = {
    engine,
    app,
    config,
    dir,
    queue,
    reads,
    capture,
    url: '',
    listen: () =>
      new Promise((resolve) => {
        // The listener `sextant serve` listens with: capture POSTs answered on Node's objects.
        const s = createServer(listener);
        server = s;
        s.listen(0, '127.0.0.1', () => {
          t.url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
          resolve(t.url);
        });
      }),
    close: async () => {
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await capture.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
