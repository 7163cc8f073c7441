import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sampleReview } from '../../test/helpers/sample-review.js';
import { reviewJsonSchema, reviewSchema } from './review.js';

describe('the review schema', () => {
  it('ships as schema/review.schema.json exactly as generated from the zod schemas (npm run build writes it)', () => {
    const file = JSON.parse(
      readFileSync(new URL('../../schema/review.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(file).toEqual(reviewJsonSchema());
  });

  it('parses a complete review with zod, and the zod checks agree with the JSON Schema on the conditional rules', () => {
    expect(reviewSchema.safeParse(sampleReview()).success).toBe(true);
    const outOfRange = sampleReview();
    outOfRange.metrics.find((m) => m.id === 'nps')!.series[3]!.value = 101;
    expect(reviewSchema.safeParse(outOfRange).success).toBe(false);
    const fractionalCount = sampleReview();
    fractionalCount.metrics.find((m) => m.id === 'tickets')!.current = 1.5;
    expect(reviewSchema.safeParse(fractionalCount).success).toBe(false);
    const noHealth = sampleReview();
    const top = noHealth.deepDives.find((d) => d.id === 'top-customers')!;
    (top.data.customers as Record<string, unknown>[])[0]!.health = 'great';
    expect(reviewSchema.safeParse(noHealth).success).toBe(false);
    const noMrr = sampleReview();
    noMrr.metrics = noMrr.metrics.filter((m) => m.id !== 'mrr');
    const res = reviewSchema.safeParse(noMrr);
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => i.message)).toContain("no metric 'mrr'");
  });
});
