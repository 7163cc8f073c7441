import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnSextant, waitFor } from '../helpers/cli.js';

/** `sextant serve` (the built CLI) as a real child process on a loopback port. */
export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** What it printed so far. */
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the signal it died of (null after a clean exit) and its exit code. */
  exited: Promise<{ signal: NodeJS.Signals | null; code: number | null }>;
  /** SIGTERM: it stops listening, loads its capture log into the store, closes the store. */
  stop: () => Promise<{ signal: NodeJS.Signals | null; code: number | null }>;
  kill: () => Promise<{ signal: NodeJS.Signals | null; code: number | null }>;
}

export async function startServe(
  db: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<ServeProcess> {
  const child = spawnSextant(['--db', db, ...args, 'serve', '--port', '0'], env);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ signal: NodeJS.Signals | null; code: number | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(() => /project key: /.test(out) || dead, 'the server to start', 120_000);
  if (dead) throw new Error(`sextant serve exited at start: ${err}`);
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: () => {
      if (!dead) child.kill('SIGTERM');
      return exited;
    },
    kill: () => {
      if (!dead) child.kill('SIGKILL');
      return exited;
    },
  };
}
