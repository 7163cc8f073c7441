/** The statistics library: see docs/analyses.md ("Statistics") for what each test is for. */
export * from './result.js';
export * from './descriptive.js';
export * from './proportions.js';
export * from './effect-sizes.js';
export * from './nps.js';
export * from './multiple-comparisons.js';
export * from './mann-whitney.js';
export * from './random.js';
export { normalQuantile, normalTwoSidedP, studentTTwoSidedP } from './jstat.js';
export * from './experiments.js';
export * from './launch-effects.js';
