import { Command, CommanderError } from 'commander';
import { InputError } from '../errors.js';
import { DEFAULT_DB } from '../store/registry.js';
import { registerDecide, registerTodo } from './decide.js';
import { registerImportEvents } from './import-events.js';
import { registerImportFeedback } from './import-feedback.js';
import { registerDemo } from './demo.js';
import { registerInit } from './init.js';
import { registerLaunch } from './launch.js';
import { registerServe } from './serve.js';
import { registerImportStripe } from './import-stripe.js';
import { registerImportSubscriptions } from './import-subscriptions.js';
import { registerImports } from './imports.js';
import { registerMetrics } from './metrics.js';
import { registerMigrate } from './migrate.js';
import { registerQuery } from './query.js';
import { registerReview } from './review.js';

/**
 * The `sextant` command line (SPEC §2). Exit codes: 0 success, 2 bad usage or invalid input
 * (one line on stderr naming the file, line and field), 1 anything else.
 */
export function buildProgram(): Command {
  const program = new Command('sextant')
    .description('The monthly growth review of an engineer-led product team, in one command.')
    .option(
      '--db <target>',
      'DuckDB file path, clickhouse://user:pass@host:port/db[?cluster=NAME] or chdb:<dir>',
      DEFAULT_DB,
    )
    .option(
      '--config <file>',
      'config file (default: sextant.config.yaml if present, else built-in defaults)',
    )
    .option('--verbose', 'more detail on stderr')
    .option('--json', 'print data as JSON where a command prints data')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerInit(program);
  registerDemo(program);
  registerImportEvents(program);
  registerImportStripe(program);
  registerImportSubscriptions(program);
  registerImportFeedback(program);
  registerImports(program);
  registerMetrics(program);
  registerReview(program);
  registerQuery(program);
  registerDecide(program);
  registerTodo(program);
  registerLaunch(program);
  registerServe(program);
  registerMigrate(program);
  overrideExits(program);
  return program;
}

/** Every (sub)command throws instead of exiting, so `run` maps errors to exit codes in one place. */
function overrideExits(cmd: Command): void {
  for (const c of cmd.commands) {
    c.exitOverride();
    overrideExits(c);
  }
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`sextant: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`sextant: ${err.message}\n`);
    if (process.argv.includes('--verbose') && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}
