import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { INSIGHT_KINDS, isInsightKind, runInsight } from '../insights/run.js';
import { withEngine } from './context.js';

/** The `--spec` value: inline JSON (starting with `{`) or the path of a JSON file. */
export function readSpec(value: string): unknown {
  const inline = value.trimStart().startsWith('{');
  const file = inline ? '--spec' : value;
  if (!inline && !existsSync(value)) throw new InputError('spec file not found', { file: value });
  const text = inline ? value : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`not valid JSON: ${(e as Error).message}`, { file });
  }
}

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('one ad-hoc insight with PostHog semantics (SPEC §6); prints JSON')
    .argument('<kind>', INSIGHT_KINDS.join('|'))
    .requiredOption('--spec <json-or-file>', 'the insight spec: inline JSON or a JSON file')
    .action(async (kind: string, opts: { spec: string }, cmd: Command) => {
      if (!isInsightKind(kind)) {
        throw new InputError(`unknown insight '${kind}': want one of ${INSIGHT_KINDS.join(', ')}`, {
          field: 'kind',
        });
      }
      const spec = readSpec(opts.spec);
      const result = await withEngine(cmd, (engine) => runInsight(engine, spec, { kind }));
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    });
}
