import { vi } from 'vitest';
import { run } from '../../src/cli/program.js';

/**
 * Runs the CLI's `run(argv)` in this process (no build needed, faster than a child) and collects
 * what it wrote to stdout and stderr, which stay silent meanwhile.
 */
export async function runCaptured(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await run(argv);
    return {
      code,
      out: out.mock.calls.map((c) => String(c[0])).join(''),
      err: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
