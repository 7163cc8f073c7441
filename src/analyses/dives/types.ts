import type { Config } from '../../config/schema.js';
import type { Month } from '../../domain/month.js';
import type { DeepDive, Metric } from '../../domain/review.js';
import type { ProductScope } from '../../metrics/types.js';
import type { Engine } from '../../store/engine.js';
import type { Timings } from '../../review/timings.js';

export interface DeepDiveContext {
  engine: Engine;
  config: Config;
  product: ProductScope;
  /** The review's month (complete, UTC). */
  month: Month;
  /** The review's metrics, already computed (13 months ending at `month`). */
  metrics: Metric[];
  /**
   * The data's end (metrics/data-range.ts), when the caller knows it: revenue is measured at it in
   * the month that holds it and is not carried past it. Read from the store when absent.
   */
  asOf?: Date | null;
  /** Where the build's time goes (`--timings`): each dive's queries are timed on their own. */
  timings?: Timings;
}

/** One standing question of the growth review (SPEC §5 deepDives[]), one file per dive. */
export interface DeepDiveRunner {
  id: string;
  question: string;
  run(ctx: DeepDiveContext): Promise<DeepDive>;
}
