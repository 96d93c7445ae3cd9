/**
 * The worker's V8 heaps: kept near what stays live through a burst of workflow tasks.
 *
 * A burst (thousands of enrollments enrolled or falling due at once) makes V8 grow each
 * isolate's heap, the main thread's (activities, the SDK's bridge) and the workflow
 * thread's, to several times what stays live: its young generation grows to its maximum and
 * its old generation's limit grows with the allocation rate. V8 gives that back only when its
 * memory reducer runs, which after a burst took about 100 s, or did not happen within the
 * 150 s measured (bench/RESULTS.md, memory). With a small young generation and an old
 * generation that grows by 30% over what survived its last collection, the heap stays near
 * its live size whatever the burst, for somewhat more time spent collecting.
 *
 * Set from the process itself, before the SDK creates its workflow threads, so every way of
 * starting the worker gets them (`--heap-growing-percent` is not allowed in NODE_OPTIONS):
 * the workflow threads' isolates are created with both; the main isolate, already running,
 * keeps the young generation it was created with (a flag set now does not resize it) but
 * takes the growing factor, which V8 reads each time it sets a new limit.
 */
import { setFlagsFromString } from 'node:v8';

export const WORKER_HEAP_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=30'] as const;

export function keepWorkerHeapsNearLive(): void {
  for (const flag of WORKER_HEAP_FLAGS) setFlagsFromString(flag);
}
