import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSextant, spawnSextant, waitFor } from '../helpers/cli.js';

/**
 * `sextant serve --db-threads` (docs/http.md, "Capture"): the embedded store's queries keep off
 * a core, so that requests are answered while a review is built; the default is the cores less
 * one. The setting itself is checked on the engine (src/store/duckdb/engine.test.ts).
 */
const dir = mkdtempSync(join(tmpdir(), 'sextant-serve-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { SEXTANT_PROJECT_KEY: 'phc_threads', SEXTANT_ADMIN_TOKEN: 'threads-admin' };

async function banner(args: string[]): Promise<string> {
  const child = spawnSextant(
    ['--db', join(dir, `s${args.join('')}.duckdb`), 'serve', '--port', '0', ...args],
    env,
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitFor(() => /project key: /.test(out) || child.exitCode !== null, 'the server to start', 120_000);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return out;
}

describe('serve --db-threads', () => {
  it('says how many threads the store uses: the default and a chosen count', async () => {
    const cores = availableParallelism();
    expect(await banner([])).toContain(`queries on at most ${Math.max(1, cores - 1)} thread(s)`);
    expect(await banner(['--db-threads', '3'])).toContain('queries on at most 3 thread(s)');
  });

  it('refuses a count that is not a whole number of threads, naming the option', async () => {
    for (const bad of ['0', '-1', '1.5', 'many']) {
      const r = await runSextant(
        ['--db', join(dir, 'bad.duckdb'), 'serve', '--port', '0', '--db-threads', bad],
        env,
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('--db-threads');
      expect(r.stderr).toContain(`'${bad}'`);
    }
  });
});
