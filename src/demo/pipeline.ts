import type { Command } from 'commander';
import type { DemoFiles } from './generate.js';

/**
 * The full `sextant demo` path: import the generated files into the store and write their review.
 * Wired by the pipeline owner; the files-only path (`--out`) does not come here.
 */
export function runDemoPipeline(_files: DemoFiles, _cmd: Command): Promise<void> {
  return Promise.reject(new Error('demo pipeline not wired yet'));
}
