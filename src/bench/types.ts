/** One measured figure. Quote medians over `runs` and ratios; these machines are shared and noisy. */
export interface BenchResult {
  name: string;
  /** Median seconds over the runs. */
  medianSeconds: number;
  runs: number;
  /** Throughput or other figures, e.g. { eventsPerSecond: 310000, peakRssMb: 900, ratioToFloor: 1.4 }. */
  figures: Record<string, number>;
  /** The target this is held to, in words, and whether it was met. */
  target?: string;
  met?: boolean;
}

export interface BenchOptions {
  /** Work directory for generated data (reused between runs when present). */
  dir: string;
  /** Larger sizes (10M events) are run only when true. */
  full: boolean;
  /** Also the 30M-event sizes (`--30m`; opt-in: hours of generation and import on 2 cores). */
  huge?: boolean;
  /** Runs per figure (`--runs N`; each module has its default). */
  runs?: number;
  log: (line: string) => void;
}
