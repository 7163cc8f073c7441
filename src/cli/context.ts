import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../store/engine.js';
import { DEFAULT_DB, openEngine } from '../store/registry.js';
import { withImportStore } from '../store/staging.js';

/** Global options (SPEC §2), shared by every command. */
export interface GlobalOptions {
  db: string;
  config?: string;
  verbose: boolean;
  json: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<Partial<GlobalOptions>>();
  return { db: o.db ?? DEFAULT_DB, config: o.config, verbose: Boolean(o.verbose), json: Boolean(o.json) };
}

export function commandConfig(cmd: Command): Config {
  return loadConfig(globalOptions(cmd).config);
}

/**
 * The commands that may create the store they are pointed at: the imports and `launch add`, which
 * store new data (`demo` and `serve` open theirs themselves, creating it). Every other command
 * refuses a store that does not exist, saying what to run first (exit 2; SPEC §2).
 */
function createsStore(cmd: Command): boolean {
  const path = `${cmd.parent?.name() ?? ''} ${cmd.name()}`;
  return cmd.parent?.name() === 'import' || path === 'launch add';
}

/**
 * Opens the store named by `--db`, runs `fn`, and always closes it. An import into a store whose
 * engine has no importers of its own (ClickHouse) runs on a DuckDB stage of it (store/staging.ts).
 */
export async function withEngine<T>(cmd: Command, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(globalOptions(cmd).db, { create: createsStore(cmd) });
  try {
    if (cmd.parent?.name() === 'import') {
      // Only the events import reads events: the others' stage leaves the largest table out.
      const without = cmd.name() === 'events' ? [] : ['events'];
      // Stripe and feedback store through Engine.loadKeyed: on the store itself, no stage.
      const keyedOnly = cmd.name() === 'stripe' || cmd.name() === 'feedback';
      return await withImportStore(engine, fn, { onProgress: progress(cmd), without, keyedOnly });
    }
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** Progress on stderr, only when stderr is a terminal (SPEC §2) or with --verbose. */
export function progress(cmd: Command): (line: string) => void {
  const on = process.stderr.isTTY || globalOptions(cmd).verbose;
  return on ? (line) => process.stderr.write(line + '\n') : () => undefined;
}
