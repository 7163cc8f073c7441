#!/usr/bin/env node
/**
 * The README's screenshots of the web app: a demo company (src/demo) imported into a fresh store,
 * a real `sextant serve` on loopback, and Debian's Chromium through playwright-core walking it
 * as a person would (sign in, build, decide, add a to-do, drill, run a retention query). Writes
 * docs/img/webapp-*.png. Run after `npm run build`:
 *
 *   node scripts/webapp-screenshots.mjs [--out docs/img] [--orgs 120] [--events 150000]
 *
 * Same seed and size, same data; the pictures differ only where the clock shows (build times).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: o } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'docs/img') },
    orgs: { type: 'string', default: '120' },
    events: { type: 'string', default: '150000' },
    seed: { type: 'string', default: '7' },
  },
});
const { writeDemoFiles } = await import(join(root, 'dist/demo/generate.js'));
const { DuckDbEngine } = await import(join(root, 'dist/store/duckdb/engine.js'));
const { importEvents } = await import(join(root, 'dist/ingest/posthog/import-events.js'));
const { importStripe } = await import(join(root, 'dist/ingest/stripe/import.js'));
const { importFeedback } = await import(join(root, 'dist/ingest/feedback/import.js'));
const { addMonths, isoDay, monthEnd } = await import(join(root, 'dist/domain/month.js'));

const out = resolve(o.out);
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'sextant-screens-'));
const say = (s) => process.stderr.write(s + '\n');
let server;
let browser;
try {
  // Data up to ten days ago: the grid lists the months up to the server's last complete month.
  const files = await writeDemoFiles({
    outDir: join(dir, 'demo'),
    seed: Number(o.seed),
    orgs: Number(o.orgs),
    events: Number(o.events),
    until: isoDay(new Date(Date.now() - 10 * 86_400_000)),
    onProgress: say,
  });
  const db = join(dir, 'store.duckdb');
  const engine = await DuckDbEngine.open(db);
  await engine.migrate();
  const rejectsDir = join(dir, 'rejects');
  await importEvents(engine, files.events, { rejectsDir });
  await importStripe(engine, files.stripe, { rejectsDir });
  for (const f of files.feedback) await importFeedback(engine, f, { rejectsDir });
  await engine.close();

  const token = 'screenshot-token';
  server = spawn(
    process.execPath,
    [join(root, 'bin/sextant.js'), '--db', db, '--config', files.config, 'serve', '--port', '0'],
    { env: { ...process.env, SEXTANT_ADMIN_TOKEN: token } },
  );
  let log = '';
  server.stdout.on('data', (b) => (log += b));
  server.stderr.on('data', (b) => (log += b));
  for (let i = 0; !/project key: /.test(log); i++) {
    if (i > 600 || server.exitCode !== null) throw new Error(`sextant serve did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /listening on (http:\/\/\S+)/.exec(log)[1];

  browser = await chromium.launch({
    executablePath: process.env.SEXTANT_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(300_000);
  const shot = async (name, fullPage = false) => {
    await page.screenshot({ path: join(out, name), fullPage });
    say(`wrote ${join(out, name)}`);
  };
  const M = files.month;
  const M1 = addMonths(M, -1);

  await page.goto(url + '/');
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url + '/');

  // Last month: built, decided, with to-dos (one ticked), so this month's page shows them.
  await page.locator(`td[data-cell="${M1}|all"]`).getByRole('button', { name: 'Build' }).click();
  await page.waitForURL(/flash=built/);
  await page.getByLabel('Outcome').selectOption('reprioritize');
  await page
    .getByLabel(/^Note/)
    .fill('Activation stalls after "data source connected": the onboarding squad takes it.');
  await page
    .getByLabel(/^Metrics to follow up/)
    .selectOption([{ label: 'Paying customers' }, { label: 'Activation rate' }]);
  await page.getByRole('button', { name: 'Record the decision' }).click();
  await page.waitForURL(/flash=decision/);
  for (const [title, owner, metric] of [
    ['Interview five accounts that stopped after connecting a data source', 'Maya', 'Activation rate'],
    ['Ship the guided first-insight template', 'Jon', 'Active organizations'],
  ]) {
    await page.getByLabel('New to-do').fill(title);
    await page.getByLabel('Owner', { exact: true }).fill(owner);
    await page.getByLabel('Metrics it moves').selectOption({ label: metric });
    await page.getByRole('button', { name: 'Add' }).click();
    await page.waitForURL(/flash=todo/);
  }
  await page.locator('ul.todos li').first().getByRole('button', { name: 'Done' }).click();
  await page.waitForURL(/#todos$/);

  // This month.
  await page.getByRole('link', { name: 'Reviews', exact: true }).click();
  await page.locator(`td[data-cell="${M}|all"]`).getByRole('button', { name: 'Build' }).click();
  await page.waitForURL(/flash=built/);
  await page.getByRole('link', { name: 'Reviews', exact: true }).click();
  await shot('webapp-grid.png');

  await page.goto(`${url}/reviews/all/${M}`);
  await shot('webapp-review.png');
  await page.locator('#previous').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, -20));
  await shot('webapp-previous.png');

  await page.locator('tr[data-metric="paying_customers"] td').nth(-2).getByRole('link').click();
  await page.waitForURL(/drill/);
  await shot('webapp-drill.png');

  await page.getByRole('link', { name: 'Insights' }).click();
  await page.getByLabel('Cohort event').fill('signed up');
  await page.getByLabel('Returning event (default: the same)').fill('$pageview');
  await page.getByLabel('Period', { exact: true }).selectOption('month');
  await page.getByLabel('Periods', { exact: true }).fill('6');
  await page.getByLabel('To (YYYY-MM-DD)').fill(isoDay(new Date(monthEnd(M).getTime() - 1)));
  await page.getByLabel('Breakdown by property').fill('$browser');
  await page.getByRole('button', { name: 'Run' }).click();
  await page.waitForURL(/run=1/);
  await shot('webapp-insights.png');
} finally {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
