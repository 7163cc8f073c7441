import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSextant, spawnSextant, waitFor } from '../helpers/cli.js';

// The database target (issue 15, item 8; SPEC §2) with the built CLI: a read command pointed at a
// store that does not exist is an error saying what to run first, and creates nothing (a
// mistyped --db used to be created empty and `review` wrote a review of zeros); a store held by
// `sextant serve` gets a message naming it and what to do, not DuckDB's raw lock error.

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-target-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const READ_COMMANDS = [
  ['review', '--month', '2024-01'],
  ['metrics', '--month', '2024-01'],
  ['query', 'trends', '--spec', '{"series":[{"event":"x"}],"dateFrom":"2024-01-01","dateTo":"2024-01-31"}'],
  ['decide', '--month', '2024-01', '--product', 'all', '--outcome', 'continue', '--note', 'x'],
  ['todo', 'list'],
  ['imports'],
  ['launch', 'list'],
];

describe('the --db target', () => {
  it('read commands refuse a store that does not exist: exit 2, what to run first, nothing created', async () => {
    const db = join(dir, 'typo', 'sextnat.duckdb');
    const runs = await Promise.all(READ_COMMANDS.map((args) => runSextant(['--db', db, ...args])));
    runs.forEach((run, i) => {
      const what = READ_COMMANDS[i]!.join(' ');
      expect({ what, code: run.code }).toEqual({ what, code: 2 });
      expect(run.stderr).toContain(`no store at ${db}`);
      expect(run.stderr).toMatch(/sextant import events.*sextant demo/);
    });
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  }, 240_000);

  it('a store held by `sextant serve`: the message names it, its pid and URL, and what to do', async () => {
    const db = join(dir, 'held.duckdb');
    const server = spawnSextant(['--db', db, 'serve', '--port', '0'], {
      SEXTANT_PROJECT_KEY: 'phc_k',
      SEXTANT_ADMIN_TOKEN: 'a',
    });
    let out = '';
    server.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /project key: /.test(out), 'the server to start', 120_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      // Serving created the store, and said so.
      expect(out).toContain(`store:       ${db} (did not exist: created, empty)`);
      const runs = await Promise.all([
        runSextant(['--db', db, 'imports']),
        runSextant(['--db', db, 'review', '--month', '2024-01']),
        runSextant(['--db', db, 'import', 'events', join(dir, 'none.jsonl')]),
      ]);
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(
          `the store ${db} is held by \`sextant serve\` (pid ${server.pid}) at ${url}: stop it`,
        );
        expect(run.stderr).toContain('use its HTTP API');
        expect(run.stderr).not.toMatch(/Conflicting lock|IO Error/);
      }
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Stopped: the store is free, and the record of the server is gone.
      const after = await runSextant(['--db', db, 'imports']);
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
      expect(existsSync(`${db}.serve.json`)).toBe(false);
    } finally {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
  }, 240_000);

  it('a store held by some other process: says which, not the raw lock error', async () => {
    const db = join(dir, 'other.duckdb');
    // A plain program holding the store open, as another tool might.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         const i = await DuckDBInstance.create(${JSON.stringify(db)});
         process.stdout.write('open\\n');
         setTimeout(() => undefined, 60_000);`,
      ],
      { cwd: process.cwd() },
    );
    let out = '';
    holder.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(() => out.includes('open'), 'the holder to open the store', 60_000);
      const run = await runSextant(['--db', db, 'imports']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`the store ${db} is in use by another process (pid ${holder.pid}`);
      expect(run.stderr).toContain('point --db at another store');
      expect(run.stderr).not.toMatch(/Conflicting lock/);
    } finally {
      holder.kill('SIGKILL');
    }
  }, 240_000);
});
