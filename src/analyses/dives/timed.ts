import type { DeepDiveContext } from './types.js';

/**
 * Runs one named query of a deep dive, timed under `  dive <id>: <query>` when the build asks for
 * timings (`--timings`, SEXTANT_TIMINGS; review/timings.ts), so each query's cost shows on its own.
 */
export function timedQuery<T>(
  ctx: Pick<DeepDiveContext, 'timings'>,
  dive: string,
  query: string,
  fn: () => Promise<T>,
): Promise<T> {
  return ctx.timings ? ctx.timings.time(`  dive ${dive}: ${query}`, fn) : fn();
}
