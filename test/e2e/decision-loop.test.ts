import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/program.js';
import type { Review } from '../../src/domain/review.js';

/**
 * The decision loop across two consecutive months through the CLI, as a team lead runs it:
 * review September, decide and add to-dos, finish one, review October — whose `previous` shows the
 * decision, each to-do's status, and how the named metrics moved since September.
 */
const dir = mkdtempSync(join(tmpdir(), 'sextant-loop-'));
const db = join(dir, 'sextant.duckdb');
const cwd = process.cwd();
const cli = (...args: string[]) =>
  run(['--db', db, '--config', join(dir, 'demo-data', 'sextant.config.yaml'), ...args]);
const readReview = (sub: string): Review =>
  JSON.parse(readFileSync(join(dir, sub, 'review.json'), 'utf8')) as Review;

beforeAll(async () => {
  process.chdir(dir);
  expect(await cli('demo', '--seed', '3', '--orgs', '40', '--events', '15000', '--until', '2026-11-05')).toBe(
    0,
  );
}, 180_000);

afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

/** The review the decision and to-dos below belong to. */
const SEPTEMBER_ALL = ['--month', '2026-09', '--product', 'all'] as const;

describe('decision loop across two months', () => {
  it("shows last month's decision, to-dos and metric moves in the next review", async () => {
    expect(await cli('review', ...SEPTEMBER_ALL, '--format', 'json', '--out', 'r09')).toBe(0);
    expect(readReview('r09').previous).toBeNull();

    expect(
      await cli(
        'decide',
        ...SEPTEMBER_ALL,
        '--outcome',
        'reprioritize',
        '--note',
        'Churn is up: fix onboarding to lift active_users',
        '--metric',
        'mrr',
      ),
    ).toBe(0);
    expect(
      await cli(
        'todo',
        'add',
        ...SEPTEMBER_ALL,
        '--title',
        'Call churned Starter customers',
        '--owner',
        'ann',
        '--metric',
        'customer_churn_rate',
      ),
    ).toBe(0);
    expect(await cli('todo', 'add', ...SEPTEMBER_ALL, '--title', 'Survey detractors, track nps')).toBe(0);
    expect(await cli('todo', 'done', '1')).toBe(0);
    // Another product's to-do stays out of this product's review.
    expect(
      await cli('todo', 'add', '--month', '2026-09', '--product', 'analytics', '--title', 'not for all'),
    ).toBe(0);

    expect(
      await cli('review', '--month', '2026-10', '--product', 'all', '--format', 'json,html', '--out', 'r10'),
    ).toBe(0);
    const r = readReview('r10');
    const prev = r.previous!;
    expect(prev.month).toBe('2026-09');
    expect(prev.decision).toMatchObject({
      outcome: 'reprioritize',
      note: 'Churn is up: fix onboarding to lift active_users',
      metricIds: ['active_users', 'mrr'],
    });
    expect(prev.todos.map((t) => [t.title, t.owner, t.status])).toEqual([
      ['Call churned Starter customers', 'ann', 'done'],
      ['Survey detractors, track nps', null, 'open'],
    ]);
    expect(prev.metricsSince.map((m) => m.metricId)).toEqual([
      'active_users',
      'customer_churn_rate',
      'mrr',
      'nps',
    ]);
    for (const moved of prev.metricsSince) {
      const series = r.metrics.find((m) => m.id === moved.metricId)!.series;
      expect(moved.then).toBe(series.find((p) => p.month === '2026-09')!.value);
      expect(moved.now).toBe(series.find((p) => p.month === '2026-10')!.value);
    }
    const html = readFileSync(join(dir, 'r10', 'index.html'), 'utf8');
    expect(html).toContain('Call churned Starter customers');
    expect(html).toContain('Churn is up: fix onboarding to lift active_users');
    expect(html).not.toContain('not for all');
  });

  it('refuses a bad outcome and an unknown to-do with exit 2', async () => {
    expect(await cli('decide', '--month', '2026-10', '--product', 'all', '--outcome', 'pivot')).toBe(2);
    expect(await cli('todo', 'done', '999')).toBe(2);
  });
});
