import type { Command } from 'commander';
import { isMonth } from '../domain/month.js';
import { InputError } from '../errors.js';
import { METRIC_IDS_KNOWN } from '../review/metric-ids.js';
import { addTodo, listTodos, markTodoDone, metricIdsIn, recordDecision } from '../review/decisions.js';
import { globalOptions, withEngine } from './context.js';

function month(value: string, flag = '--month'): string {
  if (!isMonth(value)) throw new InputError(`'${value}' is not a month (YYYY-MM)`, { field: flag });
  return value;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function registerDecide(program: Command): void {
  program
    .command('decide')
    .description("record the team lead's decision on a review")
    .requiredOption('--month <YYYY-MM>', 'the review month')
    .requiredOption('--product <name>', "the review's product ('all' for the company)")
    .requiredOption('--outcome <outcome>', 'continue | reprioritize | change-goals | new-projects')
    .option('--note <text>', 'why; metric ids written here (e.g. mrr) are followed up next month')
    .option('--metric <id>', 'a metric the decision is about (repeatable)', collect, [])
    .action(
      async (
        o: { month: string; product: string; outcome: string; note?: string; metric: string[] },
        cmd: Command,
      ) => {
        const m = month(o.month);
        const metricIds = [...new Set([...o.metric, ...metricIdsIn(o.note ?? '', METRIC_IDS_KNOWN)])].sort();
        await withEngine(cmd, (engine) =>
          recordDecision(engine, {
            product: o.product,
            month: m,
            outcome: o.outcome,
            note: o.note ?? null,
            metricIds,
          }),
        );
        process.stdout.write(`decision recorded for ${o.product} ${m}: ${o.outcome}\n`);
      },
    );
}

export function registerTodo(program: Command): void {
  const todo = program.command('todo').description("the review's to-dos: add, done, list");
  todo
    .command('add')
    .description('add a to-do to a review')
    .requiredOption('--month <YYYY-MM>', 'the review month')
    .requiredOption('--product <name>', "the review's product ('all' for the company)")
    .requiredOption('--title <text>', 'what to do; metric ids written here are followed up next month')
    .option('--owner <name>', 'who owns it')
    .option('--metric <id>', 'a metric this to-do should move (repeatable)', collect, [])
    .action(
      async (
        o: { month: string; product: string; title: string; owner?: string; metric: string[] },
        cmd: Command,
      ) => {
        const m = month(o.month);
        const metricIds = [...new Set([...o.metric, ...metricIdsIn(o.title, METRIC_IDS_KNOWN)])].sort();
        const id = await withEngine(cmd, (engine) =>
          addTodo(engine, {
            product: o.product,
            month: m,
            title: o.title,
            owner: o.owner ?? null,
            metricIds,
          }),
        );
        process.stdout.write(globalOptions(cmd).json ? JSON.stringify({ id }) + '\n' : `to-do ${id} added\n`);
      },
    );
  todo
    .command('done <id>')
    .description('mark a to-do done')
    .action(async (idText: string, _o: unknown, cmd: Command) => {
      const id = Number(idText);
      if (!Number.isSafeInteger(id) || id <= 0)
        throw new InputError(`'${idText}' is not a to-do id`, { field: 'ID' });
      await withEngine(cmd, (engine) => markTodoDone(engine, id));
      process.stdout.write(`to-do ${id} done\n`);
    });
  todo
    .command('list')
    .description('list to-dos')
    .option('--month <YYYY-MM>', 'only this review month')
    .option('--product <name>', 'only this product')
    .action(async (o: { month?: string; product?: string }, cmd: Command) => {
      const filter = { product: o.product, month: o.month === undefined ? undefined : month(o.month) };
      const todos = await withEngine(cmd, (engine) => listTodos(engine, filter));
      if (globalOptions(cmd).json) {
        process.stdout.write(JSON.stringify(todos, null, 2) + '\n');
        return;
      }
      if (todos.length === 0) process.stdout.write('no to-dos\n');
      for (const t of todos) {
        const owner = t.owner ? ` (${t.owner})` : '';
        process.stdout.write(
          `${t.id}\t${t.status === 'done' ? '[x]' : '[ ]'} ${t.month} ${t.product}: ${t.title}${owner}\n`,
        );
      }
    });
}
