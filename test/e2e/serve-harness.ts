import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createApp, type AppDeps } from '../../src/server/app.js';
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
  const app = createApp({
    engine,
    config,
    projectKey: PROJECT_KEY,
    adminToken: ADMIN_TOKEN,
    stripeWebhookSecret: WEBHOOK_SECRET,
    spoolDir: dir,
    log: () => undefined,
    ...overrides,
  });
  let server: ServerType | undefined;
  const t: TestServer = {
    engine,
    app,
    config,
    dir,
    url: '',
    listen: () =>
      new Promise((resolve) => {
        server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
          t.url = `http://127.0.0.1:${info.port}`;
          resolve(t.url);
        });
      }),
    close: async () => {
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
