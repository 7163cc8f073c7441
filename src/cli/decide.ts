import type { Command } from 'commander';
import { directContext, type AppContext } from '../app/context.js';
import { addTodo, decide, listTodos, setTodoDone, todoId } from '../app/decisions.js';
import { monthInput } from '../app/products.js';
import { commandConfig, globalOptions, withEngine } from './context.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** Runs a decision-loop use case on the store `--db` names. */
function withApp<T>(cmd: Command, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = commandConfig(cmd);
  return withEngine(cmd, (engine) => fn(directContext(engine, config)));
}

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
        const month = monthInput(o.month, '--month');
        await withApp(cmd, (ctx) =>
          decide(ctx, { product: o.product, month, outcome: o.outcome, note: o.note, metricIds: o.metric }),
        );
        process.stdout.write(`decision recorded for ${o.product} ${month}: ${o.outcome}\n`);
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
        const month = monthInput(o.month, '--month');
        const id = await withApp(cmd, (ctx) =>
          addTodo(ctx, { product: o.product, month, title: o.title, owner: o.owner, metricIds: o.metric }),
        );
        process.stdout.write(globalOptions(cmd).json ? JSON.stringify({ id }) + '\n' : `to-do ${id} added\n`);
      },
    );
  todo
    .command('done <id>')
    .description('mark a to-do done')
    .action(async (idText: string, _o: unknown, cmd: Command) => {
      const id = todoId(idText, 'ID');
      await withApp(cmd, (ctx) => setTodoDone(ctx, id, true));
      process.stdout.write(`to-do ${id} done\n`);
    });
  todo
    .command('list')
    .description('list to-dos')
    .option('--month <YYYY-MM>', 'only this review month')
    .option('--product <name>', 'only this product')
    .action(async (o: { month?: string; product?: string }, cmd: Command) => {
      const filter = {
        product: o.product,
        month: o.month === undefined ? undefined : monthInput(o.month, '--month'),
      };
      const todos = await withApp(cmd, (ctx) => listTodos(ctx, filter));
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
