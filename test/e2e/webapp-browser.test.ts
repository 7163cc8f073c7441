/// <reference lib="dom" />
// The functions passed to page.evaluate run in the page, so this file sees the DOM types.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles, type DemoFiles } from '../../src/demo/generate.js';
import { addMonths, isoDay, monthEnd } from '../../src/domain/month.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { importDemo } from '../helpers/demo-store.js';
import { spawnSextant, waitFor } from '../helpers/cli.js';
import { launchBrowser, type Browser } from './browser.js';

/**
 * The web app in real headless Chromium against a real `sextant serve` (the built CLI, a child
 * process on loopback) on a small demo store: the meeting's whole loop, as a person does it with
 * the mouse and the keyboard. Controls are found by their labels and roles, so a control without
 * an accessible name fails the test. Needs `npm run build` first (`npm test` does).
 */

const TOKEN = 'browser-test-admin-token';
let dir = '';
let files: DemoFiles;
let server: ChildProcessWithoutNullStreams | undefined;
let url = '';
let browser: Browser;
let page: Page;
/** Console errors and requests that left the server, over the whole walk. */
const problems: string[] = [];

/** The demo's review month M (its last complete month) and the month before. */
let M = '';
let M1 = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-webapp-browser-'));
  // Data up to ten days ago (the generator writes a few events after its last day; the importer
  // rejects those in the future), so the grid, which lists the twelve months up to the server's
  // last complete month, shows the demo's months.
  files = await writeDemoFiles({
    outDir: join(dir, 'demo'),
    seed: 11,
    orgs: 30,
    events: 20_000,
    until: isoDay(new Date(Date.now() - 10 * 86_400_000)),
  });
  M = files.month;
  M1 = addMonths(M, -1);
  const db = join(dir, 'store.duckdb');
  const engine = await DuckDbEngine.open(db);
  await engine.migrate();
  await importDemo(engine, files);
  await engine.close();

  server = spawnSextant(['--db', db, '--config', files.config, 'serve', '--port', '0'], {
    SEXTANT_ADMIN_TOKEN: TOKEN,
  });
  let out = '';
  server.stdout.on('data', (b: Buffer) => (out += b.toString()));
  server.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor(() => /project key: /.test(out) || server!.exitCode !== null, 'the server to start', 120_000);
  const m = /listening on (http:\/\/\S+)/.exec(out);
  if (!m) throw new Error(`sextant serve did not start:\n${out}`);
  url = m[1]!;

  browser = await launchBrowser({ offline: false });
  page = await browser.newPage();
  // A review builds in a few seconds; on a loaded machine, more.
  page.setDefaultTimeout(120_000);
  page.on('console', (msg) => {
    // A 400 answer is logged as a console error too; the response handler names it.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
      problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} from ${r.url()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(url + '/')) problems.push(`request to ${r.url()}`);
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const s = server;
    const exited = new Promise((resolve) => s.once('exit', resolve));
    s.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The visible text of `selector`, whitespace collapsed. */
async function text(selector: string): Promise<string> {
  return ((await page.locator(selector).first().innerText()) ?? '').replace(/\s+/g, ' ').trim();
}

const TODO = 'Call the three biggest accounts about paying_customers';
const NOTE = 'Focus on retention <img src=x onerror="document.title=1"> & "mrr"';

describe('the web app in Chromium, on a real sextant serve', () => {
  it('signs in with the admin token: a wrong one is refused, the right one (keyboard only) opens the grid', async () => {
    await page.goto(url + '/');
    expect(new URL(page.url()).pathname).toBe('/login');
    const token = page.getByLabel('Admin token');
    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toContain('That is not the admin token.');
    // The refusal is a 400, the one error answer of the walk.
    expect(problems).toEqual([`400 from ${url}/login`]);
    problems.length = 0;

    await page.getByLabel('Admin token').focus();
    await page.keyboard.type(TOKEN);
    await Promise.all([page.waitForURL(url + '/'), page.keyboard.press('Enter')]);
    await expect(text('h1')).resolves.toBe('Growth reviews');
    // Months × products: a cell for the demo's month and each configured product.
    for (const p of ['all', 'analytics', 'session-replay']) {
      expect(await page.locator(`td[data-cell="${M}|${p}"]`).count(), p).toBe(1);
    }
    await expect(text(`td[data-cell="${M1}|all"]`)).resolves.toContain('no review');
  });

  it('builds the review of a month from the grid and shows it', async () => {
    const cell = page.locator(`td[data-cell="${M1}|all"]`);
    await Promise.all([
      page.waitForURL(`${url}/reviews/all/${M1}?flash=built`),
      cell.getByRole('button', { name: 'Build' }).click(),
    ]);
    await expect(text('h1')).resolves.toBe(`The company · ${M1}`);
    await expect(page.getByRole('status').innerText()).resolves.toContain('The review was built');
    await expect(text('[data-testid="decision"]')).resolves.toBe('No decision recorded yet.');
    // The metrics table: one column per month ending at M1, MRR with a value in M1.
    const heads = await page.locator('table.metrics thead th').allInnerTexts();
    expect(heads.at(-2)).toBe(M1);
    const mrr = await page.locator('tr[data-metric="mrr"] td').allInnerTexts();
    expect(mrr[0]).toBe('MRR');
    expect(mrr.at(-2)).toMatch(/\d/);
    // The grid now links the review.
    await page.getByRole('link', { name: 'All reviews' }).first().click();
    await expect(text(`td[data-cell="${M1}|all"]`)).resolves.toMatch(/Open review.*no decision yet/);
    await page.locator(`td[data-cell="${M1}|all"]`).getByRole('link', { name: 'Open review' }).click();
    await expect(text('h1')).resolves.toBe(`The company · ${M1}`);
  });

  it('records the decision, its note escaped as text', async () => {
    await page.getByLabel('Outcome').selectOption('reprioritize');
    await page.getByLabel(/^Note/).fill(NOTE);
    // Picked by their labels; the note's own metric ids (mrr) are followed up too.
    await page
      .getByLabel(/^Metrics to follow up/)
      .selectOption([{ label: 'Paying customers' }, { label: 'Active users' }]);
    await Promise.all([
      page.waitForURL(/flash=decision/),
      page.getByRole('button', { name: 'Record the decision' }).click(),
    ]);
    await expect(page.getByRole('status').innerText()).resolves.toBe('Decision recorded.');
    const decision = await text('[data-testid="decision"]');
    expect(decision).toContain('Reprioritize');
    expect(decision).toContain(NOTE);
    // Metrics named in the note (by id) and picked in the list are followed up, shown by label.
    expect(decision).toMatch(/follows up: .*Paying customers/);
    expect(decision).toMatch(/follows up: .*Active users/);
    expect(decision).toMatch(/follows up: .*MRR/);
    expect(decision).not.toMatch(/paying_customers|active_users/);
    // The list shows what was picked.
    const picked = await page.locator('#decision-metrics option:checked').allInnerTexts();
    expect(picked.sort()).toEqual(['Active users', 'MRR', 'Paying customers']);
    expect(await page.locator('[data-testid="decision"] img').count()).toBe(0);
    expect(await page.title()).not.toBe('1');
    // The form shows the recorded decision, ready to change.
    await expect(page.getByLabel('Outcome').inputValue()).resolves.toBe('reprioritize');
  });

  it('adds a to-do with an owner, then ticks it off with the keyboard', async () => {
    await page.getByLabel('New to-do').fill(TODO);
    await page.getByLabel('Owner', { exact: true }).fill('Ann');
    await page.getByLabel('Metrics it moves').selectOption({ label: 'MRR' });
    await Promise.all([page.waitForURL(/flash=todo/), page.getByRole('button', { name: 'Add' }).click()]);
    await expect(page.getByRole('status').innerText()).resolves.toBe('To-do added.');
    const item = page.locator('ul.todos li', { hasText: TODO });
    expect(await item.count()).toBe(1);
    expect(await item.getAttribute('class')).toBe('open');
    // The metric picked, and the one its title names by id, shown by their labels.
    await expect(item.locator('.title').innerText()).resolves.toContain('(MRR, Paying customers)');
    await expect(item.getByLabel(`owner of ${TODO}`).inputValue()).resolves.toBe('Ann');

    await item.getByRole('button', { name: 'Done' }).focus();
    await Promise.all([page.waitForURL(`${url}/reviews/all/${M1}#todos`), page.keyboard.press('Enter')]);
    const ticked = page.locator('ul.todos li', { hasText: TODO });
    expect(await ticked.getAttribute('class')).toBe('done');
    expect(await ticked.getByRole('button', { name: 'Reopen' }).count()).toBe(1);
    const decoration = await ticked.locator('.title').evaluate((e) => getComputedStyle(e).textDecorationLine);
    expect(decoration).toBe('line-through');
    // The grid counts it.
    await page.getByRole('link', { name: 'Reviews', exact: true }).click();
    await expect(text(`td[data-cell="${M1}|all"]`)).resolves.toMatch(/reprioritize.*1 of 1 to-dos done/);
  });

  it("shows the decision and the ticked to-do in the next month's review, with how their metrics moved", async () => {
    await Promise.all([
      page.waitForURL(`${url}/reviews/all/${M}?flash=built`),
      page
        .locator(`td[data-cell="${M}|all"]`)
        .getByRole('button', { name: /Build|Rebuild/ })
        .click(),
    ]);
    await expect(text('h1')).resolves.toBe(`The company · ${M}`);
    const past = page.locator(`#previous ~ .panel[data-month="${M1}"]`);
    expect(await past.count()).toBe(1);
    const said = (await past.innerText()).replace(/\s+/g, ' ');
    expect(said).toContain('Reprioritize');
    expect(said).toContain(NOTE);
    expect(said).toContain(`✓ done: ${TODO} (Ann)`);
    // The metric it named, then (M1) and now (M): the same numbers as this review's own table.
    const row = (await past.locator('tr', { hasText: 'Paying customers' }).locator('td').allInnerTexts()).map(
      (s) => s.trim(),
    );
    const series = (await page.locator('tr[data-metric="paying_customers"] td').allInnerTexts()).map((s) =>
      s.trim(),
    );
    expect(row[1]).toBe(series.at(-3)); // M1 (the last column is the change)
    expect(row[2]).toBe(series.at(-2)); // M
    const moved = Number(row[2]) - Number(row[1]);
    expect(row[3]).toBe(moved === 0 ? '0' : `${moved > 0 ? '+' : '−'}${Math.abs(moved)}`);
  });

  it('drills from a metric cell to the customers behind it', async () => {
    const cell = page.locator('tr[data-metric="paying_customers"] td').nth(-2).getByRole('link');
    const shown = Number((await cell.innerText()).trim());
    expect(shown).toBeGreaterThan(0);
    await Promise.all([page.waitForURL(/\/drill\?metric=paying_customers/), cell.click()]);
    await expect(text('h1')).resolves.toBe(`Customers behind Paying customers, ${M}`);
    // One row per paying customer: as many as the cell said, biggest MRR first.
    const rows = page.locator('table.drill tbody tr');
    expect(await rows.count()).toBe(shown);
    const heads = await page.locator('table.drill thead th').allInnerTexts();
    const mrrCol = heads.findIndex((h) => h.trim() === 'MRR');
    expect(mrrCol).toBeGreaterThanOrEqual(0);
    const money = (await rows.locator(`td:nth-child(${mrrCol + 1})`).allInnerTexts()).map((s) =>
      Number(s.replace(/[^\d.]/g, '')),
    );
    expect(money.every((v, i) => i === 0 || money[i - 1]! >= v)).toBe(true);
    await page.getByRole('link', { name: '← back to the review' }).click();
    await expect(text('h1')).resolves.toBe(`The company · ${M}`);
  });

  it('runs a retention query with a breakdown and shows the cohorts of each value', async () => {
    await page.getByRole('link', { name: 'Insights' }).click();
    await expect(text('h1')).resolves.toBe('Insights');
    await page.getByLabel('Cohort event').fill('$pageview');
    await page.getByLabel('Period', { exact: true }).selectOption('month');
    await page.getByLabel('Periods', { exact: true }).fill('3');
    await page.getByLabel('To (YYYY-MM-DD)').fill(isoDay(new Date(monthEnd(M).getTime() - 1)));
    await page.getByLabel('Breakdown by property').fill('$browser');
    await page.getByLabel('of the').selectOption('event');
    await Promise.all([page.waitForURL(/run=1/), page.getByRole('button', { name: 'Run' }).click()]);

    const heads = page.locator('#result h3[data-breakdown]');
    const values = await heads.evaluateAll((hs) => hs.map((h) => h.getAttribute('data-breakdown')));
    expect(values.length).toBeGreaterThanOrEqual(2);
    // The page shows what the JSON API answers for the same spec.
    const spec = JSON.parse((await page.locator('details pre').textContent()) ?? '') as Record<
      string,
      unknown
    >;
    expect(spec).toMatchObject({ kind: 'retention', breakdown: { property: '$browser', type: 'event' } });
    const api = (await (
      await fetch(`${url}/api/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      })
    ).json()) as { breakdowns: { value: string | null; cohorts: { date: string; size: number }[] }[] };
    expect(values).toEqual(api.breakdowns.map((b) => b.value ?? ''));
    for (let i = 0; i < api.breakdowns.length; i++) {
      const b = api.breakdowns[i]!;
      const table = page.locator('#result table.retention').nth(i);
      const cohorts = await table
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.children[0]!.textContent.trim(), Number(tr.children[1]!.textContent)]),
        );
      expect(cohorts, String(b.value)).toEqual(b.cohorts.map((c) => [c.date, c.size]));
      const total = b.cohorts.reduce((s, c) => s + c.size, 0);
      await expect(heads.nth(i).innerText()).resolves.toContain(`(${total} in all cohorts)`);
    }
    // The biggest value first (PostHog's ranking), with people in it.
    expect(api.breakdowns[0]!.cohorts.reduce((s, c) => s + c.size, 0)).toBeGreaterThan(0);
  });

  it('logged nothing and asked nothing of anyone but the server', () => {
    expect(problems).toEqual([]);
  });
});
