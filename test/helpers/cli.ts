import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm run build` first; `npm test` does). */
export const SEXTANT_BIN = fileURLToPath(new URL('../../bin/sextant.js', import.meta.url));

export interface CliRun {
  code: number | null;
  /** `SIGKILL` when a fault point (or the test) killed it. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `sextant <args>` as a real child process. */
export function spawnSextant(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [SEXTANT_BIN, ...args], { env: { ...process.env, ...env } });
}

/** Runs `sextant <args>` to its end (or its death) and collects what it printed. */
export function runSextant(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawnSextant(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Waits until `test()` holds, checking every `everyMs`; throws after `timeoutMs`. */
export async function waitFor(
  test: () => boolean,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
