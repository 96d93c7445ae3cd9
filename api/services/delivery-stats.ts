/**
 * Numbers per sequence and per step, from the delivery ledger: each email counts once per
 * outcome it reached (an email that was delivered, opened and clicked counts in all three).
 */
import type { ServiceContext } from '../context.js';
import { getSequence, liveVersion } from './sequences.js';

export const DELIVERY_COUNTERS = [
  'sent',
  'delivered',
  'bounced',
  'complained',
  'opened',
  'clicked',
  'unsubscribed',
  'failed',
] as const;
export type DeliveryCounts = Record<(typeof DELIVERY_COUNTERS)[number], number>;

const zero = (): DeliveryCounts =>
  Object.fromEntries(DELIVERY_COUNTERS.map((name) => [name, 0])) as DeliveryCounts;

interface StepRow extends Record<(typeof DELIVERY_COUNTERS)[number], string | number> {
  step_id: string;
}

export async function sequenceStats(ctx: ServiceContext, sequenceId: string) {
  const sequence = await getSequence(ctx, sequenceId);
  const rows = await ctx.em.getConnection().execute<StepRow[]>(
    `select step_id,
       count(*) filter (where sent_at is not null) as sent,
       count(*) filter (where delivered_at is not null) as delivered,
       count(*) filter (where bounced_at is not null or status = 'bounced') as bounced,
       count(*) filter (where complained_at is not null or status = 'complained') as complained,
       count(*) filter (where opened_at is not null) as opened,
       count(*) filter (where clicked_at is not null) as clicked,
       count(*) filter (where unsubscribed_at is not null) as unsubscribed,
       count(*) filter (where status = 'failed') as failed
     from delivery where sequence_id = ? and workspace_id = ? group by step_id`,
    [sequence.id, ctx.workspaceId],
  );
  const byStep = new Map(
    rows.map((row) => [
      row.step_id,
      Object.fromEntries(DELIVERY_COUNTERS.map((name) => [name, Number(row[name])])) as DeliveryCounts,
    ]),
  );
  // Live steps in their order (with zeros for steps nothing was sent from yet), then steps
  // that were sent before an edit removed them.
  const live = (await liveVersion(ctx, sequence))?.steps ?? [];
  const steps = [
    ...live.map((step) => ({ stepId: step.id, name: step.name as string | null, live: true })),
    ...[...byStep.keys()]
      .filter((id) => !live.some((step) => step.id === id))
      .sort()
      .map((stepId) => ({ stepId, name: null, live: false })),
  ].map((step) => ({ ...step, ...(byStep.get(step.stepId) ?? zero()) }));
  const totals = zero();
  for (const counts of byStep.values()) for (const name of DELIVERY_COUNTERS) totals[name] += counts[name];
  return { sequenceId: sequence.id, totals, steps };
}
