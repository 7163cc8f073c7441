import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { join } from 'node:path';
import { globalOptions, progress } from './context.js';
import { printWritten } from './review.js';

/** The default folder of the full `sextant demo` run (without `--out`). */
export const DEMO_DIR = 'demo-data';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    }
    return n;
  };
}

function day(v: string): string {
  const d = new Date(`${v}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) {
    throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  }
  return v;
}

interface DemoCliOptions {
  seed?: number;
  orgs?: number;
  events?: number;
  until?: string;
  out?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'generate a realistic demo company (events, Stripe, feedback, config, truth.json), import it and write its review; --out only writes the files',
    )
    .option('--seed <n>', 'random seed (same seed, same files)', int('--seed', 0))
    .option('--orgs <n>', 'number of organizations (default 400)', int('--orgs', 1))
    .option('--events <n>', 'target number of events (default 1000000)', int('--events', 1))
    .option(
      '--until <date>',
      'the data ends at the start of this day, YYYY-MM-DD (default today: data through yesterday)',
      day,
    )
    .option('--out <dir>', 'only write the files to this folder')
    .action(async (opts: DemoCliOptions, cmd: Command) => {
      // Loaded when run, not at the CLI's start (see runReviews).
      const [{ writeDemoFiles }, { runDemoPipeline }] = await Promise.all([
        import('../demo/generate.js'),
        import('../demo/pipeline.js'),
      ]);
      const files = await writeDemoFiles({
        outDir: opts.out ?? DEMO_DIR,
        seed: opts.seed,
        orgs: opts.orgs,
        events: opts.events,
        until: opts.until,
        onProgress: progress(cmd),
      });
      if (opts.out !== undefined) {
        process.stdout.write(`wrote the demo company to ${files.dir} (review month ${files.month})\n`);
        return;
      }
      const { db } = globalOptions(cmd);
      const { written } = await runDemoPipeline(files, { db, log: progress(cmd) });
      // Every product's page, then the company's review last: its page and its five-line summary end the run.
      const company = written.find((w) => w.review.product === 'all');
      for (const w of written) {
        if (w !== company)
          process.stdout.write(`${w.review.product} review: ${join(w.dir ?? '', 'index.html')}\n`);
      }
      process.stdout.write(
        `The planted effects are listed in ${files.truth}; explore further with --db ${db} --config ${files.config}\n`,
      );
      if (company) printWritten(company);
    });
}
