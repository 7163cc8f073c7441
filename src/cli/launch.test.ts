import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built CLI end to end: `node bin/sextant.js launch add|list|remove --db <file>` (`npm run
// build` first; `npm test` does. Not rebuilt here: a build rewriting dist/ races with the other
// test files that spawn the CLI at the same time).
const dir = mkdtempSync(join(tmpdir(), 'sextant-launch-'));
const db = join(dir, 'l.duckdb');
const config = join(dir, 'sextant.config.yaml');

/** Runs the CLI without blocking the test worker (a blocked worker misses vitest's heartbeats). */
function sextant(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/sextant.js', ...args, '--db', db, '--config', config],
      { encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  writeFileSync(
    config,
    [
      'products: [{name: analytics, events: ["insight *"]}]',
      'launches:',
      '  - {title: Dark mode, date: 2024-05-20, product: analytics, metrics: [insight viewed]}',
    ].join('\n') + '\n',
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sextant launch', () => {
  it('adds, lists and removes launches beside the configured ones', async () => {
    const add = await sextant(
      'launch',
      'add',
      '--date',
      '2024-05-02',
      '--product',
      'analytics',
      '--title',
      'Templates',
      '--flag',
      'templates',
      '--metric',
      'insight created:count',
      '--json',
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const { id } = JSON.parse(add.stdout) as { id: number };
    const list = await sextant('launch', 'list', '--month', '2024-05');
    expect(list.stdout).toBe(
      `${String(id).padEnd(6)} 2024-05-02 analytics: Templates flag templates → count:insight created\n` +
        'config 2024-05-20 analytics: Dark mode → conversion:insight viewed\n',
    );
    expect((await sextant('launch', 'remove', String(id))).code).toBe(0);
    expect((await sextant('launch', 'list', '--json', '--product', 'analytics')).stdout).toMatch(
      /"source": "config"/,
    );
    const again = await sextant('launch', 'remove', String(id));
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`sextant: field 'ID': no stored launch with id ${id}\n`);
  });

  it('rejects bad options with exit 2, naming the option', async () => {
    const date = await sextant('launch', 'add', '--date', '2024-13-01', '--product', 'all', '--title', 'x');
    expect(date.code).toBe(2);
    expect(date.stderr).toMatch(/field '--date'/);
    const product = await sextant(
      'launch',
      'add',
      '--date',
      '2024-01-01',
      '--product',
      'replay',
      '--title',
      'x',
    );
    expect(product.stderr).toMatch(/field '--product': unknown product 'replay'/);
    const metric = await sextant(
      'launch',
      'add',
      '--date',
      '2024-01-01',
      '--product',
      'all',
      '--title',
      'x',
      '--metric',
      'a:sum',
    );
    expect(metric.stderr).toMatch(/field '--metric'/);
    const unit = await sextant(
      'launch',
      'add',
      '--date',
      '2024-01-01',
      '--product',
      'all',
      '--title',
      'x',
      '--unit',
      'team',
    );
    expect(unit.stderr).toMatch(/field '--unit'/);
  });
});
