import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { Notifier } from '../app/notify.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { resolveServerKeys } from '../server/keys.js';
import { clearServe, recordServe } from '../store/duckdb/lock.js';
import { openEngine } from '../store/registry.js';
import { commandConfig, globalOptions } from './context.js';

/**
 * `sextant serve [--host 127.0.0.1] [--port 8010]` (SPEC §2, §7): the capture API, the Stripe
 * webhook, the JSON API and the web UI on one port (src/server/app.ts; docs/http.md). Prints the
 * URL, the project key and the admin token; closes the store on SIGINT/SIGTERM.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('web UI, JSON API, PostHog-compatible capture API and Stripe webhook on one port')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', '8010')
    .option(
      '--db-threads <n>',
      "most threads the embedded store's queries use (default: the cores less one, so requests keep a core while a review is built)",
    )
    .action(async (o: { host: string; port: string; dbThreads?: string }, cmd: Command) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new InputError(`'${o.port}' is not a port (0–65535)`, { field: '--port' });
      }
      const dbThreads =
        o.dbThreads === undefined ? Math.max(1, availableParallelism() - 1) : Number(o.dbThreads);
      if (!Number.isInteger(dbThreads) || dbThreads < 1 || dbThreads > 1024) {
        throw new InputError(`'${o.dbThreads}' is not a number of threads (1–1024)`, {
          field: '--db-threads',
        });
      }
      const g = globalOptions(cmd);
      const config = commandConfig(cmd);
      const keys = resolveServerKeys(config, g.db);
      // Loaded when serving only: the web app's modules are most of the CLI's start-up.
      const [
        { createServer },
        { createServerApp },
        { CaptureService },
        { StoreQueue },
        { configuredNotifiers },
        schedule,
      ] = await Promise.all([
        import('node:http'),
        import('../server/app.js'),
        import('../server/capture/service.js'),
        import('../server/store-queue.js'),
        import('../app/notify.js'),
        import('../server/scheduler.js'),
      ]);
      // A channel switched on without its secret in the environment stops the start, before the store opens.
      const notifiers = configuredNotifiers(config);
      const local = !/^[a-z][a-z0-9+.-]+:/i.test(g.db); // not clickhouse:// nor chdb:
      // Serving may create its store (captures and webhooks import into it), and says so: a
      // mistyped --db is then seen at once.
      const created = local && g.db !== ':memory:' && !existsSync(g.db);
      const engine = await openEngine(g.db);
      // DuckDB runs in this process: left at every core, a review build's queries take the core
      // the requests are answered on (docs/http.md, "Capture"). A ClickHouse server has its own.
      await engine.limitThreads?.(dbThreads);
      const rejectsDir = join(local ? dirname(g.db) : '.sextant', 'rejects');
      // One queue for the writes of the app, the capture log and the scheduler.
      const queue = new StoreQueue();
      // The capture log: what a killed server acknowledged and had not loaded is loaded first.
      const capture = await CaptureService.start({ engine, queue, config, rejectsDir });
      const pending = capture.log.closedSegments();
      // The use cases' queries run on their own connections of the store: a review being built
      // never holds up the capture loader, nor the loader a page.
      const { serverContext, serverReads } = await import('../server/context.js');
      const reads = serverReads({ engine, queue });
      const { listener } = createServerApp(
        {
          engine,
          queue,
          reads,
          capture,
          config,
          projectKey: keys.projectKey,
          adminToken: keys.adminToken,
          stripeWebhookSecret: keys.stripeWebhookSecret,
          rejectsDir,
        },
        { hostname: o.host },
      );
      const scheduler = schedule.createScheduler(
        serverContext({ engine, queue, reads, config, now: () => new Date() }, (line) =>
          process.stdout.write(`sextant serve: ${line}\n`),
        ),
        notifiers,
      );
      await new Promise<void>((resolve, reject) => {
        // Capture POSTs are answered on Node's objects, the rest by the Hono app (app.ts).
        const server = createServer(listener);
        server.listen(port, o.host, () => {
          const info = server.address() as AddressInfo;
          const host = info.address.includes(':') ? `[${info.address}]` : info.address;
          const url = `http://${host}:${info.port}`;
          const out = process.stdout;
          out.write(`sextant serve: listening on ${url}\n`);
          out.write(
            `  store:       ${g.db}${created ? ' (did not exist: created, empty)' : ''}` +
              (engine.limitThreads ? `; queries on at most ${dbThreads} thread(s)` : '') +
              '\n',
          );
          out.write(
            `  capture log: ${capture.log.dir} (503 past ${capture.maxBytes} bytes unloaded)` +
              (pending.length
                ? `; ${pending.length} segment(s) a previous server acknowledged are being loaded`
                : '') +
              '\n',
          );
          // Lets another command that finds the store locked say who holds it (store/duckdb/lock.ts).
          if (local) recordServe(g.db, url);
          out.write(`  web UI:      ${url}/?token=${keys.adminToken}\n`);
          out.write(`  admin token: ${keys.adminToken}  (Authorization: Bearer …)\n`);
          out.write(`  project key: ${keys.projectKey}  (PostHog SDKs: api key, host ${url})\n`);
          out.write(
            `  Stripe webhook: ${url}/webhooks/stripe${keys.stripeWebhookSecret ? '' : ' (no signing secret configured: answers 503)'}\n`,
          );
          if (keys.generated.length)
            out.write(`  generated ${keys.generated.join(' and ')}, kept in ${keys.file}\n`);
          out.write(`  schedule:    ${scheduleLine(config, notifiers)}\n`);
          scheduler.start();
        });
        server.once('error', (e: Error) => {
          capture
            .close()
            .then(() => engine.close())
            .then(() => reject(e), reject);
        });
        const stop = (signal: string): void => {
          process.stderr.write(`sextant serve: ${signal}, closing\n`);
          if (local) clearServe(g.db);
          // No new requests; what the log holds is loaded (the SDKs' last batches too), then the
          // store is closed. A kill instead leaves the log to the next start.
          server.close(() => {
            scheduler
              .stop()
              .then(() => capture.close({ drain: true }))
              .then(() => engine.close())
              .then(resolve, reject);
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}

/** What the schedule will do, in a line (no secrets: a notifier describes itself without them). */
function scheduleLine(config: Config, notifiers: readonly Notifier[]): string {
  const s = config.server.schedule;
  if (!s.enabled) return 'off (server.schedule.enabled in the config)';
  const what = s.products.length ? s.products.join(', ') : 'every product';
  const to = notifiers.length ? `; summary to ${notifiers.map((n) => n.describe).join(' and ')}` : '';
  return `builds the reviews of the month before (${what}) on day ${s.day} of each month at ${s.time} UTC${to}`;
}
