/**
 * The worker's domain metrics: what happened to each step, counted where the outcome is
 * decided (the activities' results), so they agree with the delivery ledger.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;

export function createDeliveryMetrics(registry: Registry, provider: string) {
  const registers = [registry];
  const metrics = {
    emailsSent: new Counter({
      name: 'nudge_emails_sent_total',
      help: 'Emails handed to the provider (a retry that finds its ledger row is not counted again)',
      labelNames: ['kind', 'provider'] as const,
      registers,
    }),
    sendsHeld: new Counter({
      name: 'nudge_sends_held_total',
      help: 'Sends the send-time guard refused because a pause was in force (S3, E8); the step is held, not lost',
      labelNames: ['source'] as const,
      registers,
    }),
    stepsSkipped: new Counter({
      name: 'nudge_steps_skipped_total',
      help: 'Steps skipped instead of sent (expired during a pause, or skipped on request)',
      labelNames: ['reason'] as const,
      registers,
    }),
    sendsFailed: new Counter({
      name: 'nudge_sends_failed_total',
      help: 'Deliveries the provider refused permanently (D4: invalid address, rejected content)',
      registers,
    }),
    sendRetries: new Counter({
      name: 'nudge_send_retries_total',
      help: 'Send attempts that failed transiently and will be retried with backoff (D4)',
      registers,
    }),
    sendsRefused: new Counter({
      name: 'nudge_sends_refused_total',
      help: 'Sends the send-time guard refused for good (D2): the enrollment ended, the step was removed',
      labelNames: ['outcome'] as const,
      registers,
    }),
    enrollmentsEnded: new Counter({
      name: 'nudge_enrollments_ended_total',
      help: 'Enrollments that ended, by final status (completed, cancelled, failed, ineligible)',
      labelNames: ['status'] as const,
      registers,
    }),
    sendDuration: new Histogram({
      name: 'nudge_send_duration_seconds',
      help: 'Time of one send activity: guard, ledger write, render and the provider call',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers,
    }),
  };
  // Every known series exists from the start at 0, so rate() and alerts see them before the first event.
  for (const kind of ['first', 'resend']) metrics.emailsSent.labels({ kind, provider }).inc(0);
  for (const source of ['enrollment', 'sequence']) metrics.sendsHeld.labels({ source }).inc(0);
  for (const reason of ['expired', 'skipped']) metrics.stepsSkipped.labels({ reason }).inc(0);
  for (const outcome of ['ended', 'step_removed']) metrics.sendsRefused.labels({ outcome }).inc(0);
  for (const status of ['completed', 'cancelled', 'failed', 'ineligible']) {
    metrics.enrollmentsEnded.labels({ status }).inc(0);
  }
  return metrics;
}
