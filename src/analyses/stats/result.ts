/**
 * Every test and measure in src/analyses/stats returns one of two shapes, told apart by
 * `notEnoughData`: the value it computed, naming its `test`, or the reason it would not compute
 * one. A caller prints the reason ("not enough data: 3 organizations, need 10") instead of a
 * number that a sample this small cannot support.
 */
export interface NotEnoughData {
  test: string;
  notEnoughData: true;
  reason: string;
}

export type Computed<T> = T & { test: string; notEnoughData: false };

export type StatResult<T> = Computed<T> | NotEnoughData;

export function notEnoughData(test: string, reason: string): NotEnoughData {
  return { test, notEnoughData: true, reason };
}

export function computed<T extends object>(test: string, value: T): Computed<T> {
  return { test, notEnoughData: false, ...value };
}

/** A confidence interval; `level` is 0.95 for a 95% interval. */
export interface Interval {
  low: number;
  high: number;
  level: number;
}

export function assertCount(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0) {
    throw new Error(`${name} must be a non-negative integer count, got ${x}`);
  }
}
