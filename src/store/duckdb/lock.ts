/**
 * Who holds a DuckDB store. DuckDB lets one process at a time open a file for writing; another
 * gets "IO Error: Could not set lock on file … Conflicting lock is held in /usr/bin/node (PID n)",
 * which says neither what holds it nor what to do. `sextant serve`, which holds its store for as
 * long as it runs, records itself in `<db>.serve.json` (pid and URL), so the message can say
 * "held by `sextant serve` (pid n) at http://…: stop it, or use its HTTP API".
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export function serveRecord(db: string): string {
  return `${db}.serve.json`;
}

export interface ServeHolder {
  pid: number;
  url: string;
}

/** Written by `sextant serve` once it listens; removed when it stops. */
export function recordServe(db: string, url: string): void {
  writeFileSync(serveRecord(db), JSON.stringify({ pid: process.pid, url } satisfies ServeHolder) + '\n');
}

/** Removes the record if it is this process's (a later server may have replaced it). */
export function clearServe(db: string): void {
  try {
    const held = JSON.parse(readFileSync(serveRecord(db), 'utf8')) as ServeHolder;
    if (held.pid === process.pid) rmSync(serveRecord(db), { force: true });
  } catch {
    // none, or unreadable: nothing of ours to remove
  }
}

/** The process holding `db` according to DuckDB's lock error, or undefined if it is not one. */
export function lockHolderPid(message: string): number | undefined {
  if (!/Could not set lock on file/i.test(message)) return undefined;
  const pid = /\(PID (\d+)\)/.exec(message)?.[1];
  return pid ? Number(pid) : 0;
}

/** What to tell a user whose command found `db` held by process `pid`. */
export function lockedMessage(db: string, pid: number): string {
  let serve: ServeHolder | undefined;
  try {
    serve = JSON.parse(readFileSync(serveRecord(db), 'utf8')) as ServeHolder;
  } catch {
    serve = undefined;
  }
  if (serve && (serve.pid === pid || pid === 0)) {
    return (
      `the store ${db} is held by \`sextant serve\` (pid ${serve.pid}) at ${serve.url}: ` +
      `stop it (Ctrl-C, or kill ${serve.pid}) and run this again, or use its HTTP API ` +
      `(${serve.url}/api/…, docs/http.md), or point --db at another store`
    );
  }
  const who = pid ? `another process (pid ${pid}${commandLine(pid)})` : 'another process';
  return `the store ${db} is in use by ${who}: DuckDB lets one process at a time use a store; wait for it to finish or stop it, or point --db at another store`;
}

/** `: <its command line>` where the system says it (Linux /proc), else nothing. */
function commandLine(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const i = args.findIndex((a) => /sextant(\.js)?$/.test(a));
    const shown = i >= 0 ? ['sextant', ...args.slice(i + 1)] : args;
    return shown.length ? `: ${shown.join(' ').slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
