import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { directContext, type AppContext } from '../../src/app/context.js';
import {
  configuredNotifiers,
  emailNotifier,
  slackNotifier,
  slackText,
  summaryMessage,
  type Notifier,
} from '../../src/app/notify.js';
import {
  dueIn,
  dueRun,
  MAX_ATTEMPTS,
  nextDue,
  runSchedule,
  scheduleNotifications,
  scheduleRuns,
  scheduleStatus,
} from '../../src/app/schedule.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { InputError } from '../../src/errors.js';
import { importSubscriptions } from '../../src/ingest/subscriptions/import.js';
import { loadReview } from '../../src/review/store.js';
import { createScheduler } from '../../src/server/scheduler.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { sql } from '../../src/store/sql.js';
import { sampleReview } from '../helpers/sample-review.js';
import { insertEvents } from '../helpers/test-events.js';

/**
 * The monthly schedule with an injected clock, on a real DuckDB file (closed and reopened for a
 * restart), with its summary posted to a real HTTP server standing in for Slack's incoming
 * webhook and to a real SMTP server (the `smtp-server` package), both on loopback.
 */

const SCHEDULE = { enabled: true, day: 3, time: '06:00' };
const at = (iso: string) => () => new Date(iso);

describe('when a run is due', () => {
  it('is the configured day and time of each month, UTC, for the month before', () => {
    expect(dueIn('2024-05', SCHEDULE).toISOString()).toBe('2024-05-03T06:00:00.000Z');
    expect(dueRun(new Date('2024-05-03T05:59:59.999Z'), SCHEDULE)).toBeNull();
    expect(dueRun(new Date('2024-05-03T06:00:00Z'), SCHEDULE)).toEqual({
      month: '2024-04',
      dueAt: new Date('2024-05-03T06:00:00Z'),
    });
    // Late in the month the run is still this month's (a server that was down catches up) …
    expect(dueRun(new Date('2024-05-31T23:59:00Z'), SCHEDULE)?.month).toBe('2024-04');
    // … but on the 1st of the next month, before its day, nothing is due.
    expect(dueRun(new Date('2024-06-01T00:00:00Z'), SCHEDULE)).toBeNull();
    expect(dueRun(new Date('2025-01-03T06:00:00Z'), SCHEDULE)?.month).toBe('2024-12');
    expect(nextDue(new Date('2024-05-03T05:00:00Z'), SCHEDULE).toISOString()).toBe(
      '2024-05-03T06:00:00.000Z',
    );
    expect(nextDue(new Date('2024-05-03T06:00:00Z'), SCHEDULE).toISOString()).toBe(
      '2024-06-03T06:00:00.000Z',
    );
    expect(nextDue(new Date('2024-12-20T00:00:00Z'), SCHEDULE).toISOString()).toBe(
      '2025-01-03T06:00:00.000Z',
    );
    // Day 28 exists in February, even in a leap year's neighbours.
    expect(dueIn('2023-02', { day: 28, time: '23:59' }).toISOString()).toBe('2023-02-28T23:59:00.000Z');
  });

  it('is configured with checked keys: day 1–28, time HH:MM, known products', () => {
    const bad = (server: unknown) => configSchema.safeParse({ server }).error?.issues[0];
    expect(bad({ schedule: { day: 31 } })?.path).toEqual(['server', 'schedule', 'day']);
    expect(bad({ schedule: { time: '6:00' } })?.message).toContain('HH:MM');
    expect(bad({ schedule: { time: '24:00' } })?.path).toEqual(['server', 'schedule', 'time']);
    expect(bad({ schedule: { products: ['nope'] } })?.message).toContain("unknown product 'nope'");
    expect(bad({ notify: { email: { to: ['not an address'] } } })?.path).toEqual([
      'server',
      'notify',
      'email',
      'to',
      0,
    ]);
    expect(bad({ notify: { webhook: 'x' } })?.message).toMatch(/webhook/);
    const d = configSchema.parse({}).server;
    expect(d.schedule).toEqual({ enabled: false, day: 1, time: '06:00', products: [] });
    expect(d.notify).toEqual({ slack: false, email: { to: [], from: 'sextant@localhost' } });
  });
});

/** A real HTTP server standing in for Slack's incoming webhook: records what is posted, answers as told. */
interface SlackReceiver {
  url: string;
  posts: { path: string; headers: IncomingHttpHeaders; body: string }[];
  /** Status codes to answer with, in turn; 200 when empty. */
  answers: number[];
  close(): Promise<void>;
}

async function slackReceiver(): Promise<SlackReceiver> {
  const r: Omit<SlackReceiver, 'url' | 'close'> = { posts: [], answers: [] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      r.posts.push({ path: req.url ?? '', headers: req.headers, body });
      const status = r.answers.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no_service');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    ...r,
    url: `http://127.0.0.1:${port}/services/T0001/B0001/s3cretW3bhookToken`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

async function smtpReceiver(
  user: string,
  pass: string,
): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback with a password: no STARTTLS to negotiate, login allowed without TLS.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, done) {
      if (auth.username === user && auth.password === pass) done(null, { user });
      else done(new Error('Invalid username or password'));
    },
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (b: Buffer) => (raw += b.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((a) => a.address),
          user: session.user as string | undefined,
          raw,
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A store with two customers and a few users over March–May 2024, in a file. */
async function smallStore(dir: string): Promise<string> {
  const db = join(dir, 'store.duckdb');
  const engine = await DuckDbEngine.open(db);
  await engine.migrate();
  const csv = join(dir, 'subs.csv');
  writeFileSync(
    csv,
    `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
k3,org-c,Pro,prod_x,usd,4000,month,1,1,2024-02-01,,active
`,
  );
  await importSubscriptions(engine, csv);
  await insertEvents(engine, [
    { event: 'use', person: 'u1', at: '2024-03-01T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u2', at: '2024-03-02T10:00:00', organization: 'org-c' },
    { event: 'use', person: 'u1', at: '2024-04-02T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u3', at: '2024-04-03T10:00:00', organization: 'org-c' },
    { event: 'use', person: 'u3', at: '2024-05-03T10:00:00', organization: 'org-c' },
  ]);
  await engine.close();
  return db;
}

/** A quoted-printable body decoded (soft line breaks joined, =XX bytes as UTF-8). */
function quotedPrintable(text: string): string {
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

let dir = '';
let db = '';
let engine: DuckDbEngine;
let slack: SlackReceiver;
let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
const logs: string[] = [];
const SMTP_PASS = 'p4ss:w0rd@secret';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-schedule-'));
  db = await smallStore(dir);
  engine = await DuckDbEngine.open(db);
  slack = await slackReceiver();
  smtp = await smtpReceiver('sextant', SMTP_PASS);
});

afterAll(async () => {
  await engine?.close();
  await slack?.close();
  await smtp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  // No line the schedule logged holds a secret.
  for (const line of logs) {
    expect(line).not.toContain('s3cretW3bhookToken');
    expect(line).not.toContain('p4ss');
  }
});

function config(extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    products: [{ name: 'app', events: ['use'], stripeProducts: ['prod_x'] }],
    server: {
      schedule: { ...SCHEDULE, products: ['all'] },
      notify: {
        slack: true,
        email: { to: ['team@example.com'], from: 'sextant@example.com' },
        link: 'https://sextant.example.com/',
      },
      ...extra,
    },
  });
}

function context(now: string, c: Config = config()): AppContext {
  return directContext(engine, c, { now: at(now), log: (l) => logs.push(l) });
}

function notifiers(c: Config = config()): Notifier[] {
  return configuredNotifiers(c, {
    SEXTANT_SLACK_WEBHOOK_URL: slack.url,
    SEXTANT_SMTP_URL: `smtp://sextant:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${smtp.port}`,
  });
}

const generatedAt = async (month: string) => (await loadReview(engine, 'all', month))?.generatedAt ?? null;

describe('runSchedule on a real store', () => {
  it('does nothing before the day, then builds the month before once, and posts and mails its summary once', async () => {
    let o = await runSchedule(context('2024-05-03T05:59:00Z'), { notifiers: notifiers() });
    expect(o).toEqual({ due: null, built: [], failed: [], sent: [], unsent: [] });
    expect(await generatedAt('2024-04')).toBeNull();

    o = await runSchedule(context('2024-05-03T06:00:00Z'), { notifiers: notifiers() });
    expect(o.due?.month).toBe('2024-04');
    expect(o.built).toEqual(['all']);
    expect(o.sent).toEqual(['slack', 'email']);
    expect(await generatedAt('2024-04')).toBe('2024-05-03T06:00:00.000Z');
    const [run] = await scheduleRuns(context('2024-05-03T06:00:00Z'), '2024-04');
    expect(run).toMatchObject({ product: 'all', attempts: 1, error: null });
    expect(run?.builtAt).toBe('2024-05-03T06:00:00.000Z');

    // Slack: one JSON post to the webhook's own path, the summary as mrkdwn with links.
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]!.path).toBe('/services/T0001/B0001/s3cretW3bhookToken');
    expect(slack.posts[0]!.headers['content-type']).toBe('application/json');
    const text = (JSON.parse(slack.posts[0]!.body) as { text: string }).text;
    expect(text.split('\n')[0]).toBe('*Growth review of 2024-04, the company:*');
    // April: k1 $30 (3 seats × $10) + k3 $40 = $70 MRR, 2 paying customers.
    expect(text).toContain('• Revenue: MRR $70');
    expect(text).toContain('2 (+0.0% MoM) paying customers');
    expect(text).toContain('<https://sextant.example.com/reviews/all/2024-04|the company, 2024-04>');

    // E-mail: through the SMTP server, signed in, to the configured address.
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail).toMatchObject({ from: 'sextant@example.com', to: ['team@example.com'], user: 'sextant' });
    expect(mail.raw).toMatch(/^Subject: Growth review of 2024-04 is ready\r?$/m);
    expect(mail.raw).toMatch(/^Content-Type: text\/plain; charset=utf-8\r?$/m);
    const body = quotedPrintable(mail.raw.slice(mail.raw.search(/\r?\n\r?\n/)).trim());
    expect(body.split(/\r?\n/).slice(0, 2)).toEqual([
      'Growth review of 2024-04, the company:',
      'Revenue: MRR $70 (+0.0% MoM), 2 (+0.0% MoM) paying customers, revenue churn 0.0% (+0.0 pts MoM)',
    ]);
    expect(body).toContain('the company, 2024-04: https://sextant.example.com/reviews/all/2024-04');

    // Later the same month: nothing again.
    o = await runSchedule(context('2024-05-20T12:00:00Z'), { notifiers: notifiers() });
    expect(o).toMatchObject({ built: [], sent: [], unsent: [] });
    expect(await generatedAt('2024-04')).toBe('2024-05-03T06:00:00.000Z');
    expect(slack.posts).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it('survives a restart without building or sending twice', async () => {
    await engine.close();
    engine = await DuckDbEngine.open(db);
    await engine.migrate();
    const s = createScheduler(context('2024-05-28T08:00:00Z'), notifiers());
    const o = await s.check();
    await s.stop();
    expect(o).toMatchObject({ due: { month: '2024-04' }, built: [], sent: [], unsent: [] });
    expect(await generatedAt('2024-04')).toBe('2024-05-03T06:00:00.000Z');
    expect(slack.posts).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const status = await scheduleStatus(context('2024-05-28T08:00:00Z'));
    expect(status).toMatchObject({
      enabled: true,
      day: 3,
      time: '06:00',
      products: ['all'],
      next: '2024-06-03T06:00:00.000Z',
      channels: ['slack', 'email'],
    });
    expect(status.notifications.map((n) => [n.month, n.channel, n.attempts])).toEqual([
      ['2024-04', 'email', 1],
      ['2024-04', 'slack', 1],
    ]);
  });

  it('redoes a build a kill interrupted, and retries a summary the webhook refused, keeping no secret', async () => {
    // A run killed while building May's review: recorded as started, never finished.
    await engine.exec(
      sql`INSERT INTO schedule_runs (month, product, due_at, started_at, attempts, built_at, error)
          VALUES ('2024-05', 'all', '2024-06-03T06:00:00Z', '2024-06-03T06:00:00Z', 1, NULL, NULL)`,
    );
    slack.answers.push(500);
    let o = await runSchedule(context('2024-06-03T06:05:00Z'), { notifiers: notifiers() });
    expect(o).toMatchObject({
      due: { month: '2024-05' },
      built: ['all'],
      sent: ['email'],
      unsent: ['slack'],
    });
    expect((await scheduleRuns(context('2024-06-03T06:05:00Z'), '2024-05'))[0]).toMatchObject({
      attempts: 2,
      error: null,
    });
    const [email, failed] = await scheduleNotifications(context('2024-06-03T06:05:00Z'), '2024-05');
    expect(email).toMatchObject({ channel: 'email', attempts: 1 });
    expect(failed).toMatchObject({
      channel: 'slack',
      attempts: 1,
      sentAt: null,
      error: 'the webhook answered 500: no_service',
    });
    expect(
      logs.some((l) => l.includes('could not send the summary of 2024-05 to the Slack webhook at 127.0.0.1')),
    ).toBe(true);

    // The next check sends only what is missing.
    o = await runSchedule(context('2024-06-03T07:05:00Z'), { notifiers: notifiers() });
    expect(o).toMatchObject({ built: [], sent: ['slack'], unsent: [] });
    expect(slack.posts).toHaveLength(3);
    expect(smtp.mails).toHaveLength(2);
    expect(await generatedAt('2024-05')).toBe('2024-06-03T06:05:00.000Z');
  });

  it(`gives up on a summary after ${MAX_ATTEMPTS} refusals, and says why without the secret`, async () => {
    const c = config({ schedule: { ...SCHEDULE, day: 4, time: '00:00', products: ['all'] } });
    // A webhook whose error names its own URL: the message kept and logged is redacted.
    const leaky: Notifier = {
      ...slackNotifier(slack.url),
      send: () => Promise.reject(new Error(`POST ${slack.url} failed`)),
    };
    await engine.exec(sql`DELETE FROM schedule_notifications WHERE month = '2024-05'`);
    for (let i = 1; i <= MAX_ATTEMPTS + 1; i++) {
      const o = await runSchedule(context(`2024-06-04T0${i}:00:00Z`, c), { notifiers: [leaky] });
      expect(o.unsent).toEqual(i <= MAX_ATTEMPTS ? ['slack'] : []);
    }
    const [row] = await scheduleNotifications(context('2024-06-05T00:00:00Z'), '2024-05');
    expect(row).toMatchObject({ attempts: MAX_ATTEMPTS, sentAt: null });
    expect(row!.error).toBe('POST [secret] failed');
  });

  it('starts with the server: a due run is made at start, and stop() waits for it', async () => {
    const c = config({ schedule: { enabled: true, day: 1, time: '00:00', products: ['app'] } });
    const s = createScheduler(context('2024-04-15T00:00:00Z', c), []);
    s.start();
    await s.stop();
    expect((await loadReview(engine, 'app', '2024-03'))?.generatedAt).toBe('2024-04-15T00:00:00.000Z');
    expect(logs.at(-1)).toBe('schedule: next run 2024-05-01 00:00 UTC');
    // Switched off, it never builds.
    const off = config({ schedule: { enabled: false, day: 1, time: '00:00', products: ['app'] } });
    expect(await runSchedule(context('2024-06-15T00:00:00Z', off))).toMatchObject({ due: null, built: [] });
    expect(await loadReview(engine, 'app', '2024-05')).toBeNull();
  });
});

describe('notifications', () => {
  it("escapes Slack's control characters: a customer named <!channel> pings nobody", () => {
    const r = sampleReview();
    r.highlights = [{ ...r.highlights[0]!, title: 'Acme <!channel> & <https://evil.example|Co> is at risk' }];
    const text = slackText(summaryMessage([r]));
    expect(text).toContain(
      'Top highlight: Acme &lt;!channel&gt; &amp; &lt;https://evil.example|Co&gt; is at risk',
    );
    expect(text).not.toContain('<!channel>');
    // Without a configured link, no links.
    expect(text).not.toContain('Open:');
  });

  it('refuses to start a channel whose secret is missing or malformed, without echoing it', () => {
    const c = config();
    expect(() => configuredNotifiers(c, {})).toThrow(InputError);
    expect(() => configuredNotifiers(c, {})).toThrow(
      "field 'server.notify.slack': server.notify.slack is on but SEXTANT_SLACK_WEBHOOK_URL is not set",
    );
    let message = '';
    try {
      configuredNotifiers(c, {
        SEXTANT_SLACK_WEBHOOK_URL: slack.url,
        SEXTANT_SMTP_URL: 'ftp://u:hunter22@x',
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('SEXTANT_SMTP_URL is not a');
    expect(message).not.toContain('hunter22');
    expect(configuredNotifiers(configSchema.parse({}), {})).toEqual([]);
  });

  it('fails a delivery to an SMTP server that refuses the password, naming no secret', async () => {
    const n = emailNotifier(`smtp://sextant:wrong-${SMTP_PASS}@127.0.0.1:${smtp.port}`, {
      to: ['team@example.com'],
      from: 'sextant@example.com',
    });
    const err = await n.send([sampleReview()]).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = n.redact(err!.message);
    expect(message).toMatch(/Invalid|auth/i);
    expect(message).not.toContain('p4ss');
    expect(n.describe).toBe(`team@example.com through smtp://127.0.0.1:${smtp.port}`);
  });
});
