/**
 * An opt-in breakdown of where a review build spends its time (`SEXTANT_TIMINGS=1`, or
 * `sextant review --timings`): wall-clock and process CPU milliseconds (user + system, every
 * thread: on a busy machine the wall time mostly measures the other processes) per step — each
 * metric family, each deep dive, anomalies, highlights… — printed to stderr when the build ends.
 * Off by default: a disabled `Timings` only runs the step.
 */

export interface Timings {
  readonly enabled: boolean;
  /** Runs `fn`, recording its wall time under `label` when enabled. */
  time<T>(label: string, fn: () => Promise<T> | T): Promise<T>;
  /** The steps in the order they ended: `label  123.4 ms`, then the total. */
  lines(): string[];
}

/** True when the environment asks for timings (`SEXTANT_TIMINGS` set to anything but 0/false/empty). */
export function timingsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.SEXTANT_TIMINGS;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function createTimings(enabled: boolean): Timings {
  const steps: { label: string; ms: number; cpuMs: number }[] = [];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
  return {
    enabled,
    async time<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
      if (!enabled) return fn();
      const start = performance.now();
      const cpu = process.cpuUsage();
      try {
        return await fn();
      } finally {
        steps.push({ label, ms: performance.now() - start, cpuMs: cpuMs(process.cpuUsage(cpu)) });
      }
    },
    lines(): string[] {
      const width = Math.max(10, ...steps.map((s) => s.label.length));
      const line = (label: string, ms: number, cpu: number): string =>
        `${label.padEnd(width)} ${ms.toFixed(1).padStart(9)} ms wall ${cpu.toFixed(1).padStart(9)} ms cpu`;
      return [
        ...steps.map((s) => line(s.label, s.ms, s.cpuMs)),
        line('total', performance.now() - t0, cpuMs(process.cpuUsage(c0))),
      ];
    },
  };
}
