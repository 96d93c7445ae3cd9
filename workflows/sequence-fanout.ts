/**
 * A sequence-level change reaching its enrollments (DESIGN §4): pause (S3), resume (S4),
 * edit or publish (S5), delete (S6) and purge. The API commits the change and starts this
 * workflow, so it answers at once; the send guard (D2) already enforces a pause or a delete
 * meanwhile, and this run delivers the signals durably, resuming where it stopped if its
 * worker dies. One run per sequence revision.
 */
import type { createActivities } from '../activities/index.js';
import { proxyActivitiesWithSummaries } from './activity-summaries.js';
import type { SequenceFanOutInput, SequenceFanOutResult } from './fanout-types.js';

const { fanOutToEnrollments } = proxyActivitiesWithSummaries<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 hour',
  // The activity heartbeats after every page with its position, so a retry picks up there.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function sequenceFanOutWorkflow(input: SequenceFanOutInput): Promise<SequenceFanOutResult> {
  return fanOutToEnrollments(input);
}
