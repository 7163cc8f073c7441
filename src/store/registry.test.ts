import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { parseClickHouseTarget } from './clickhouse/target.js';
import { openEngine, schemeOf } from './registry.js';
import { raw } from './sql.js';

describe('--db targets', () => {
  it('tells a path from a scheme (a Windows drive is a path)', () => {
    expect(schemeOf('.sextant/sextant.duckdb')).toBeUndefined();
    expect(schemeOf('C:\\data\\s.duckdb')).toBeUndefined();
    expect(schemeOf('chdb:./ch')).toBe('chdb');
    expect(schemeOf('clickhouse://h:8123/db')).toBe('clickhouse');
  });

  it('parses clickhouse:// URLs, and never shows the password', () => {
    expect(
      parseClickHouseTarget('clickhouse://ana:s%40cret@ch.example:9000/growth?cluster=two_shards'),
    ).toEqual({
      kind: 'server',
      url: 'http://ch.example:9000',
      username: 'ana',
      password: 's@cret',
      database: 'growth',
      cluster: 'two_shards',
      display: 'clickhouse://ana@ch.example:9000/growth?cluster=two_shards',
    });
    expect(parseClickHouseTarget('clickhouse://localhost/?secure=1')).toMatchObject({
      url: 'https://localhost:8443',
      username: 'default',
      database: 'default',
    });
    expect(() => parseClickHouseTarget('clickhouse://h:8123/drop;table')).toThrow(InputError);
    expect(() => parseClickHouseTarget('clickhouse://h:8123/db?cluster=a-b')).toThrow(/cluster name/);
  });

  it('names the choices for an unknown scheme', async () => {
    await expect(openEngine('postgres://x/y')).rejects.toThrow(
      /unknown store 'postgres:'.*DuckDB file path, clickhouse:\/\/.*chdb:<dir>/,
    );
  });

  it('opens chdb:<dir> as ClickHouse in-process, and keeps what it stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-chdb-target-'));
    const target = `chdb:${join(dir, 'store')}`;
    const e = await openEngine(target);
    expect([e.name, e.target]).toEqual(['clickhouse', target]);
    await e.upsert(
      'decisions',
      [
        {
          product: 'all',
          month: '2024-01',
          outcome: 'continue',
          note: null,
          metric_ids: ['mrr'],
          decided_at: '2024-02-01T10:00:00Z',
        },
      ],
      ['product', 'month'],
    );
    await e.close();
    const again = await openEngine(target);
    expect(await again.query(raw('SELECT outcome, metric_ids, decided_at FROM decisions'))).toEqual([
      { outcome: 'continue', metric_ids: ['mrr'], decided_at: '2024-02-01T10:00:00.000Z' },
    ]);
    await again.close();
  });

  it('says how to install chdb when a chdb: target is asked for without it (built CLI)', () => {
    // The built CLI in a folder whose node_modules has every package of this one but chdb.
    expect(existsSync('dist/cli/main.js')).toBe(true); // `npm run build` first
    const dir = mkdtempSync(join(tmpdir(), 'sextant-no-chdb-'));
    cpSync('dist', join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    for (const name of readdirSync('node_modules')) {
      if (name === 'chdb' || name === '@chdb' || name.startsWith('.')) continue;
      symlinkSync(resolve('node_modules', name), join(dir, 'node_modules', name));
    }
    const r = spawnSync(
      process.execPath,
      [join(dir, 'dist/cli/main.js'), '--db', `chdb:${join(dir, 'ch')}`, 'metrics', '--month', '2024-01'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toMatch(
      /field '--db': the chdb: target .* optional package 'chdb' .*`npm install chdb`/,
    );
    expect(r.status).toBe(2);
  });
});
