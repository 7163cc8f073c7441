/**
 * Runs `fn` `runs` times: the median wall-clock seconds (and every sample), and the median process
 * CPU seconds (user + system, all threads: the cost on a busy machine, where wall time is noisy).
 */
export async function medianSeconds(
  runs: number,
  fn: () => Promise<unknown>,
): Promise<{ median: number; samples: number[]; cpuMedian: number }> {
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { median: median(samples), samples, cpuMedian: median(cpu) };
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
