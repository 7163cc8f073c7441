import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastCompleteMonth } from '../../src/domain/month.js';
import { importSubscriptions } from '../../src/ingest/subscriptions/import.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { runSextant, spawnSextant, waitFor } from '../helpers/cli.js';

/**
 * The schedule in a real `sextant serve` (the built CLI): configured due since the 1st of this
 * month at 00:00 UTC, it builds last month's review at start and posts its summary to a Slack
 * webhook stand-in on loopback; started again on the same store it builds and posts nothing.
 * The webhook's secret URL never appears in what the server prints.
 */

const SECRET = 'T0001/B0001/xoxWebhookSecret42';
const TOKEN = 'schedule-admin-token';
let dir = '';
let db = '';
let configFile = '';
let receiver: Server;
let webhook = '';
const posts: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-serve-schedule-'));
  db = join(dir, 'store.duckdb');
  const engine = await DuckDbEngine.open(db);
  await engine.migrate();
  const csv = join(dir, 'subs.csv');
  writeFileSync(
    csv,
    `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
`,
  );
  await importSubscriptions(engine, csv);
  await engine.close();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      posts.push(`${req.url} ${body}`);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/${SECRET}`;
  configFile = join(dir, 'sextant.config.yaml');
  writeFileSync(
    configFile,
    `server:
  schedule: { enabled: true, day: 1, time: "00:00", products: [all] }
  notify: { slack: true, link: "http://sextant.test" }
`,
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the server, waits for the schedule's first word, stops it; returns everything it printed. */
async function serveOnce(
  env: Record<string, string>,
): Promise<{ out: string; url: string; child: ChildProcessWithoutNullStreams }> {
  const child = spawnSextant(['--db', db, '--config', configFile, 'serve', '--port', '0'], {
    SEXTANT_ADMIN_TOKEN: TOKEN,
    ...env,
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor(
    () => /schedule: (nothing left|next run)/.test(out) || child.exitCode !== null,
    'the schedule',
    120_000,
  );
  const url = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '';
  return { out, url, child };
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('sextant serve with the monthly schedule', () => {
  const month = lastCompleteMonth(new Date());

  it('builds the review of the month at start when it is due, and posts its summary to Slack once', async () => {
    const { out, url, child } = await serveOnce({ SEXTANT_SLACK_WEBHOOK_URL: webhook });
    try {
      expect(out).toContain(
        'schedule:    builds the reviews of the month before (all) on day 1 of each month at 00:00 UTC; summary to the Slack webhook at 127.0.0.1',
      );
      expect(out).toContain(`sextant serve: schedule: built the all review of ${month}`);
      expect(out).toContain(
        `sextant serve: schedule: sent the summary of ${month} to the Slack webhook at 127.0.0.1`,
      );
      expect(out).not.toContain('xoxWebhookSecret42');
      expect(posts).toHaveLength(1);
      expect(posts[0]).toContain(`/services/${SECRET} `);
      const text = (JSON.parse(posts[0]!.slice(posts[0]!.indexOf(' ') + 1)) as { text: string }).text;
      expect(text).toContain(`*Growth review of ${month}, the company:*`);
      expect(text).toContain(`<http://sextant.test/reviews/all/${month}|the company, ${month}>`);
      // The API says what ran.
      const status = (await (
        await fetch(`${url}/api/schedule`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { runs: { month: string; attempts: number; builtAt: string | null }[] };
      expect(status.runs).toHaveLength(1);
      expect(status.runs[0]).toMatchObject({ month, attempts: 1 });
      expect(status.runs[0]!.builtAt).not.toBeNull();
      const review = await fetch(`${url}/api/reviews/all/${month}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(review.status).toBe(200);
    } finally {
      await stop(child);
    }
  }, 180_000);

  it('started again on the same store, builds and posts nothing', async () => {
    const { out, child } = await serveOnce({ SEXTANT_SLACK_WEBHOOK_URL: webhook });
    try {
      expect(out).toContain(`sextant serve: schedule: nothing left to do for ${month}; next run`);
      expect(out).not.toContain('schedule: built');
      expect(posts).toHaveLength(1);
    } finally {
      await stop(child);
    }
  }, 180_000);

  it('does not start with Slack switched on and no webhook in the environment', async () => {
    const run = await runSextant(['--db', db, '--config', configFile, 'serve', '--port', '0'], {
      SEXTANT_ADMIN_TOKEN: TOKEN,
      SEXTANT_SLACK_WEBHOOK_URL: '',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('server.notify.slack is on but SEXTANT_SLACK_WEBHOOK_URL is not set');
  });
});
