/** Small statistics over measured instants and durations. */

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Events per second from the first to the last instant (ms): n instants span n − 1 gaps. */
export function rateBetweenFirstAndLast(instantsMs: number[]): number {
  if (instantsMs.length < 2) return Number.NaN;
  const span = Math.max(...instantsMs) - Math.min(...instantsMs);
  return span > 0 ? (instantsMs.length - 1) / (span / 1000) : Number.POSITIVE_INFINITY;
}
