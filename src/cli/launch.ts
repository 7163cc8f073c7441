import type { Command } from 'commander';
import { configSchema } from '../config/schema.js';
import { isMonth } from '../domain/month.js';
import { InputError } from '../errors.js';
import { metricId, parseMetricArg } from '../launches/metric.js';
import { addLaunch, listLaunches, removeLaunch } from '../launches/store.js';
import { commandConfig, globalOptions, withEngine } from './context.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** `sextant launch add|list|remove` (SPEC §2): the launches the review judges, beside the config's. */
export function registerLaunch(program: Command): void {
  const launch = program
    .command('launch')
    .description('what was shipped: add, list or remove the launches the review\'s "What we shipped" judges');
  launch
    .command('add')
    .description('record a launch (stored in the database)')
    .requiredOption('--date <YYYY-MM-DD>', 'the UTC day it shipped, or its experiment started')
    .requiredOption('--product <name>', "the product ('all' for the company)")
    .requiredOption('--title <text>', 'what shipped')
    .option('--flag <key>', 'the feature flag it shipped behind')
    .option(
      '--metric <event[:type]>',
      'a metric it should move: EVENT, EVENT:count, EVENT:sum:PROPERTY (repeatable)',
      collect,
      [],
    )
    .option('--unit <unit>', 'person, or organization for a group flag', 'person')
    .option('--control <variant>', "the flag's control variant (default: control, else false)")
    .option('--window-days <n>', 'days after exposure the metrics are read in', '14')
    .action(
      async (
        o: {
          date: string;
          product: string;
          title: string;
          flag?: string;
          metric: string[];
          unit: string;
          control?: string;
          windowDays: string;
        },
        cmd: Command,
      ) => {
        const config = commandConfig(cmd);
        const metrics = o.metric.map((m) => parseMetricArg(m));
        // The config's own launch rules validate the command's options, so both agree.
        const checked = configSchema.safeParse({
          products: config.products,
          launches: [
            {
              title: o.title,
              date: o.date,
              product: o.product,
              ...(o.flag !== undefined ? { flag: o.flag } : {}),
              metrics,
              unit: o.unit,
              ...(o.control !== undefined ? { control: o.control } : {}),
              windowDays: Number(o.windowDays),
            },
          ],
        });
        if (!checked.success) {
          const issue = checked.error.issues[0]!;
          // The path is ['launches', 0, <key>, …]: name the option that set <key>.
          const key = String(issue.path[2] ?? 'title');
          const flag = key === 'windowDays' ? '--window-days' : `--${key === 'metrics' ? 'metric' : key}`;
          throw new InputError(issue.message, { field: flag });
        }
        const l = checked.data.launches[0]!;
        const id = await withEngine(cmd, (engine) => addLaunch(engine, { ...l, metrics }));
        process.stdout.write(
          globalOptions(cmd).json ? JSON.stringify({ id }) + '\n' : `launch ${id} added\n`,
        );
      },
    );
  launch
    .command('list')
    .description('list the launches, configured and stored')
    .option('--month <YYYY-MM>', 'only those of this month and the three before (what its review shows)')
    .option('--product <name>', 'only those of one product')
    .action(async (o: { month?: string; product?: string }, cmd: Command) => {
      if (o.month !== undefined && !isMonth(o.month)) {
        throw new InputError(`'${o.month}' is not a month (YYYY-MM)`, { field: '--month' });
      }
      const config = commandConfig(cmd);
      const launches = await withEngine(cmd, (engine) =>
        listLaunches(engine, config, {
          product: o.product,
          ...(o.month ? { month: o.month, monthsBefore: 3 } : {}),
        }),
      );
      if (globalOptions(cmd).json) {
        process.stdout.write(JSON.stringify(launches, null, 2) + '\n');
        return;
      }
      if (launches.length === 0) {
        process.stdout.write('no launches\n');
        return;
      }
      for (const l of launches) {
        const id = l.id === null ? 'config' : String(l.id);
        const flag = l.flag ? ` flag ${l.flag}` : '';
        const metrics = l.metrics.length ? ` → ${l.metrics.map(metricId).join(', ')}` : '';
        process.stdout.write(`${id.padEnd(6)} ${l.date} ${l.product}: ${l.title}${flag}${metrics}\n`);
      }
    });
  launch
    .command('remove <id>')
    .description('remove a stored launch (configured ones live in the config file)')
    .action(async (idText: string, _o: unknown, cmd: Command) => {
      const id = Number(idText);
      if (!Number.isSafeInteger(id) || id <= 0) {
        throw new InputError(`'${idText}' is not a launch id`, { field: 'ID' });
      }
      await withEngine(cmd, (engine) => removeLaunch(engine, id));
      process.stdout.write(`launch ${id} removed\n`);
    });
}
