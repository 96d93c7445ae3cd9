/**
 * Waits for a condition that other processes make true (a workflow reaching a state, a row
 * appearing). This is not a timing assertion: the deadline only turns a hang into a failure.
 */
export async function eventually<T>(
  probe: () => Promise<T | null | undefined | false>,
  {
    timeoutMs = 30_000,
    intervalMs = 50,
    what = 'condition',
    detail,
  }: { timeoutMs?: number; intervalMs?: number; what?: string; detail?: () => string | Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const context = detail ? `\n${(await detail()).slice(-3000)}` : '';
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${context}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
