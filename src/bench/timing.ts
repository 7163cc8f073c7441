/** Runs `fn` `runs` times and returns the median wall-clock seconds (and every sample). */
export async function medianSeconds(
  runs: number,
  fn: () => Promise<unknown>,
): Promise<{ median: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, samples };
}
