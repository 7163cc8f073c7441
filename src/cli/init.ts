import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { CONFIG_TEMPLATE } from '../config/template.js';
import { InputError } from '../errors.js';
import { globalOptions } from './context.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented sextant.config.yaml with the defaults')
    .option('--force', 'overwrite an existing file')
    .action((opts: { force?: boolean }, cmd: Command) => {
      const file = globalOptions(cmd).config ?? DEFAULT_CONFIG_FILE;
      if (existsSync(file) && !opts.force) {
        throw new InputError('already exists (use --force to overwrite)', { file });
      }
      writeFileSync(file, CONFIG_TEMPLATE);
      process.stdout.write(`wrote ${file}\n`);
    });
}
