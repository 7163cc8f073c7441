/**
 * For tests: a ClickHouse engine in-process (chdb). chdb binds one data directory per process
 * (test files run in their own processes: vitest `pool: 'forks'`), so every engine a test file
 * opens shares that directory and gets a database of its own instead.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseEngine } from './engine.js';

let dir: string | undefined;
let n = 0;

export async function openChdb({ migrate = true } = {}): Promise<ClickHouseEngine> {
  dir ??= mkdtempSync(join(tmpdir(), 'sextant-chdb-'));
  const database = `t${process.pid}_${++n}`;
  const e = await ClickHouseEngine.open({ kind: 'chdb', dir, database, display: `chdb:${dir}#${database}` });
  if (migrate) await e.migrate();
  return e;
}
