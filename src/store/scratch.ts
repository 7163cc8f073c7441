/**
 * Scratch folders for an import's temporary files (an events import's chunk files, the capture
 * spool), where the next run finds what a killed one left. Each is `<root>/<pid>-<random>`: the
 * root is `<db>.sextant-tmp` beside a DuckDB file (the same disk as the store), else
 * `<os tmp>/sextant-tmp`. A process removes its own folder when done; one killed cannot, so
 * every new scratch folder, and every open of a DuckDB file, first removes the folders of
 * processes that are gone. Beside a DuckDB file that is every other process's folder: DuckDB's
 * file lock lets one process at a time write the store, so a folder of another pid there belongs
 * to a process that no longer holds it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function isFileStore(target: string): boolean {
  // Not `:memory:`, a `clickhouse://` URL or a `chdb:<dir>` (two letters at least: `C:\` is a path).
  return target !== ':memory:' && !/^[a-z][a-z0-9+.-]+:/i.test(target);
}

/** Where the scratch folders of the store `target` live. */
export function scratchRoot(target: string): string {
  return isFileStore(target) ? `${target}.sextant-tmp` : join(tmpdir(), 'sextant-tmp');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the scratch folders that killed processes left for `target`; returns how many. */
export function clearDeadScratch(target: string): number {
  const root = scratchRoot(target);
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of entries) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    const gone = !pid || (isFileStore(target) ? pid !== process.pid : !alive(pid));
    if (gone) {
      rmSync(join(root, name), { recursive: true, force: true });
      removed++;
    }
  }
  if (isFileStore(target) && removed === entries.length) rmSync(root, { recursive: true, force: true });
  return removed;
}

/** A new, empty scratch folder for this process; remove it with `rmSync(dir, {recursive})`. */
export function scratchDir(target: string): string {
  clearDeadScratch(target);
  const dir = join(scratchRoot(target), `${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes a folder from `scratchDir`, and the root beside a DuckDB file once it is empty. */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const root = dirname(dir);
  if (root.endsWith('.sextant-tmp')) {
    try {
      rmdirSync(root);
    } catch {
      // not empty (another scratch folder) or gone already
    }
  }
}
