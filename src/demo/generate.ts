/**
 * `sextant demo`: writes the input files of a realistic, deterministic B2B SaaS company (SPEC §3)
 * plus `truth.json` of the effects planted in it. The company is planned first (company.ts, small),
 * then events are streamed per organization and person through gzip, so 100M events need no more
 * memory than 1M. Same seed and options → byte-identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { isoDay, lastCompleteMonth, type Month } from '../domain/month.js';
import { EV, FX_EUR_USD, KEY_ACTIONS, ONBOARDING_STEPS, PRODUCTS } from './catalog.js';
import { PLANT, buildWorld } from './company.js';
import { expectedEvents, writeEvents } from './events.js';
import { buildFeedback, feedbackCsv } from './feedback.js';
import { GzipLines } from './gzip-lines.js';
import { demoLaunchesConfig } from './launches.js';
import { buildStripe, type StripeFiles } from './stripe.js';
import { buildTruth } from './truth.js';

export interface DemoOptions {
  outDir: string;
  seed?: number;
  orgs?: number;
  events?: number;
  /** `YYYY-MM-DD`; the data ends here and the review month is the last complete month before it. */
  until?: string;
  onProgress?: (msg: string) => void;
}

export interface DemoFiles {
  dir: string;
  events: string;
  /** The folder of Stripe object files. */
  stripe: string;
  feedback: string[];
  config: string;
  truth: string;
  /** The review month, `YYYY-MM`. */
  month: string;
}

export const DEMO_DEFAULTS = { seed: 42, orgs: 400, events: 1_000_000 } as const;

function parseUntil(until: string | undefined): Date {
  if (until === undefined) {
    // Today: the data ends at the start of the `until` day (events later than that are not
    // written, src/demo/events.ts), so by default it runs through yesterday, the last complete day.
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(until);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== until) {
    throw new Error(`--until must be a date YYYY-MM-DD, got ${until}`);
  }
  return d;
}

/**
 * Where `writeDemoFiles` puts each file under `outDir`, and the review month of data ending at
 * `until`: for callers that reuse files written before (`truth.json` is written last, so its
 * presence means a whole data set).
 */
export function demoFilePaths(outDir: string, until?: string): DemoFiles {
  const dir = resolve(outDir);
  return {
    dir,
    events: join(dir, 'events.jsonl.gz'),
    stripe: join(dir, 'stripe'),
    feedback: [join(dir, 'feedback.csv'), join(dir, 'cancellations.jsonl')],
    config: join(dir, 'sextant.config.yaml'),
    truth: join(dir, 'truth.json'),
    // The review month follows `until` (lastCompleteMonth), as the pipeline's default review does.
    month: lastCompleteMonth(parseUntil(until)),
  };
}

export async function writeDemoFiles(opts: DemoOptions): Promise<DemoFiles> {
  const seed = opts.seed ?? DEMO_DEFAULTS.seed;
  const orgs = opts.orgs ?? DEMO_DEFAULTS.orgs;
  const target = opts.events ?? DEMO_DEFAULTS.events;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(orgs) || orgs < 1) throw new Error(`orgs must be a positive integer, got ${orgs}`);
  if (!Number.isInteger(target) || target < 1)
    throw new Error(`events must be a positive integer, got ${target}`);
  const until = parseUntil(opts.until);
  const progress = opts.onProgress ?? (() => undefined);
  // One reading of the clock (`until` defaults to today).
  const files = demoFilePaths(opts.outDir, isoDay(until));
  const { dir, stripe: stripeDir } = files;
  mkdirSync(stripeDir, { recursive: true });

  const world = buildWorld({ seed, orgs, until });
  const { fixed, perScale } = expectedEvents(world);
  const scale = Math.max(0, (target - fixed) / perScale);
  if (target < fixed)
    progress(
      `--events ${target} is below this company's minimum of about ${Math.round(fixed)}; writing the minimum`,
    );
  progress(`demo: ${orgs} organizations, review month ${world.month}, about ${target} events`);

  const out = new GzipLines(files.events);
  const every = Math.max(1, Math.floor(orgs / 10));
  await writeEvents(world, scale, out, (i) => {
    if ((i + 1) % every === 0)
      progress(`demo: events for ${i + 1}/${orgs} organizations (${out.count} events)`);
  });
  await out.close();

  const stripe = buildStripe(world);
  writeJsonl(stripeDir, stripe);
  const fb = buildFeedback(world);
  const [feedbackFile, cancellationsFile] = files.feedback as [string, string];
  writeFileSync(feedbackFile, feedbackCsv(fb.rows));
  writeFileSync(cancellationsFile, fb.cancellations.map((r) => JSON.stringify(r)).join('\n') + '\n');

  writeFileSync(files.config, demoConfigYaml(world.month));
  writeFileSync(files.truth, JSON.stringify(buildTruth(world, out.count), null, 2) + '\n');
  progress(
    `demo: wrote ${out.count} events, ${stripe.invoices.length} invoices, ${fb.rows.length + fb.cancellations.length} feedback items to ${dir}`,
  );

  return files;
}

const STRIPE_FILES: Record<keyof StripeFiles, string> = {
  products: 'products.jsonl',
  prices: 'prices.jsonl',
  coupons: 'coupons.jsonl',
  customers: 'customers.jsonl',
  subscriptions: 'subscriptions.jsonl',
  invoices: 'invoices.jsonl',
  events: 'events.jsonl',
  creditNotes: 'credit_notes.jsonl',
};

function writeJsonl(dir: string, files: StripeFiles): void {
  for (const [key, name] of Object.entries(STRIPE_FILES) as Array<[keyof StripeFiles, string]>) {
    const rows = files[key] as readonly unknown[];
    writeFileSync(join(dir, name), rows.map((o) => JSON.stringify(o)).join('\n') + (rows.length ? '\n' : ''));
  }
}

/** The demo's `sextant.config.yaml` (SPEC §4): its products, key actions, onboarding, ICP and fx. */
export function demoConfig(month?: Month): Record<string, unknown> {
  return {
    products: [
      {
        name: 'analytics',
        events: [
          'insight *',
          'dashboard *',
          'query run',
          'alert created',
          'report exported',
          'comment added',
          'project created',
          'data source connected',
          'first insight created',
        ],
        stripeProducts: [PRODUCTS.analytics.id],
      },
      { name: 'session-replay', events: ['recording *'], stripeProducts: [PRODUCTS.replay.id] },
    ],
    keyActions: [...KEY_ACTIONS],
    onboarding: { steps: [...ONBOARDING_STEPS], windowDays: 14 },
    icp: { all: [{ property: PLANT.icp.property, op: '>=', value: PLANT.icp.threshold }] },
    topCustomers: 10,
    leadingIndicators: {
      windowDays: [PLANT.invites.windowDays, 14],
      outcomeDays: [56, 90],
      maxThreshold: 10,
    },
    billing: { link: 'metadata.group_key' },
    reporting: { currency: 'USD', fx: { EUR: FX_EUR_USD } },
    ...(month ? { launches: demoLaunchesConfig(month) } : {}),
  };
}

export function demoConfigYaml(month?: Month): string {
  return (
    `# The demo company's Sextant configuration (written by \`sextant demo\`).\n` +
    `# Onboarding ends with "${EV.dashboardCreated}"; ICP is organizations with ${PLANT.icp.threshold}+ employees.\n` +
    stringify(demoConfig(month))
  );
}
