/**
 * Identity overrides (docs/ingest.md, "Identity") hold only if nothing rewrites events and every
 * analysis resolves an event's person through `store/events.ts`. The behaviour is proved by
 * src/ingest/posthog/identity-overrides.test.ts on both engines; this keeps the code so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((p) => join(dir, p))
    .filter((p) => p.endsWith('.ts') && !p.endsWith('.test.ts'));
}

const UPDATE_EVENTS = /UPDATE\s+events\b/i;
/** A read of the `events` table itself (not `eventsWithPersons()`, not `events_local`…). */
const RAW_EVENTS_READ = /\b(FROM|JOIN)\s+events\b(?!\s*\()(?![\w$])/g;

/** The analysis side: what reads events for a review, an insight, a launch or the server. */
const ANALYSES = [
  'src/metrics',
  'src/insights',
  'src/analyses',
  'src/launches',
  'src/review',
  'src/server',
  'src/app',
];

/**
 * Reads of `events` that need no person (time bounds, counts, event names): file → how many.
 * The list may only shrink; a read that needs `person_id` goes through `eventsWithPersons()`.
 */
const PERSONLESS_READS: Record<string, number> = {
  'src/metrics/data-range.ts': 2, // min/max timestamp
  'src/review/coverage.ts': 2, // count(*), months with events
  'src/server/routes/ui.ts': 1, // event names
  'src/analyses/dives/leading-indicators.ts': 1, // min(timestamp)
  'src/analyses/dives/onboarding-funnel.ts': 1, // min/max timestamp
  'src/analyses/dives/churn-reasons.ts': 1, // $groupidentify of organizations
};

describe('events are never rewritten, and read with their person now', () => {
  it('the checks find what they look for', () => {
    expect(UPDATE_EVENTS.test('raw(`UPDATE events SET person_id = p.person_id`)')).toBe(true);
    expect('SELECT x FROM events e JOIN events_local'.match(RAW_EVENTS_READ)).toHaveLength(1);
    expect('FROM ${eventsWithPersons()} JOIN person_overrides'.match(RAW_EVENTS_READ)).toBeNull();
  });

  it('no UPDATE of events anywhere in src', () => {
    expect(sources('src').filter((f) => UPDATE_EVENTS.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('every analysis reads events through eventsWithPersons(), apart from the person-free reads listed', () => {
    const reads: Record<string, number> = {};
    for (const f of ANALYSES.flatMap(sources)) {
      const n = readFileSync(f, 'utf8').match(RAW_EVENTS_READ)?.length ?? 0;
      if (n) reads[f] = n;
    }
    expect(reads).toEqual(PERSONLESS_READS);
  });
});
