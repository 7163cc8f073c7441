/** Small text helpers shared by the deep dives' summaries and findings. */

/** A p-value (or q-value) for text, with its relation: `= 0.0031`, or `< 1e-15` where doubles underflow. */
export function formatP(p: number): string {
  return p < 1e-15 ? '< 1e-15' : `= ${p.toPrecision(2)}`;
}
