/**
 * E12: suppression. An unsubscribed, bounced or complained contact is never sent to again:
 * the contact row says so (the send guard, D2, re-checks it under lock), and every live
 * enrollment of the contact ends `cancelled` with reason `contact_<suppression>`.
 *
 * The database change is one transaction that locks the contact, then its enrollments (the
 * order every writer uses), so it waits for a send in flight and no send starts after it.
 * The workflows are told afterwards, best effort: one that misses the signal finds the
 * enrollment ended at its next send anyway.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { appendEvent, eventFor } from '../../activities/event-log.js';
import {
  Contact,
  Enrollment,
  LIVE_ENROLLMENT_STATUSES,
  Sequence,
  type Suppression,
} from '../../db/entities/index.js';
import { cancelSignal } from '../../workflows/messages.js';
import type { TemporalAccess } from '../context.js';

export interface SuppressionResult {
  /** False when the contact was already suppressed (the first suppression stands). */
  changed: boolean;
  suppression: Suppression;
  /** Workflows of the enrollments this ended, to be told once the transaction has committed. */
  endedWorkflows: { workflowId: string; reason: string }[];
}

/**
 * Suppresses a contact inside the caller's transaction. `source` says why, for the audit log
 * (`unsubscribe_link`, `resend_webhook`, …).
 */
export async function suppressContactInTransaction(
  tx: EntityManager,
  contactId: string,
  suppression: Suppression,
  source: { via: string; deliveryId?: string | null },
): Promise<SuppressionResult> {
  const contact = await tx.findOneOrFail(Contact, contactId, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (contact.suppression) {
    appendEvent(tx, {
      workspace: contact.workspace,
      contact: contact.id,
      type: 'contact.suppression_repeated',
      data: { suppression, existing: contact.suppression, ...source },
    });
    return { changed: false, suppression: contact.suppression, endedWorkflows: [] };
  }
  const now = new Date();
  contact.suppression = suppression;
  contact.suppressedAt = now;
  appendEvent(tx, {
    workspace: contact.workspace,
    contact: contact.id,
    type: 'contact.suppressed',
    data: { suppression, ...source },
  });

  const reason = `contact_${suppression}`;
  const live = await tx.find(
    Enrollment,
    { contact: contact.id, status: { $in: [...LIVE_ENROLLMENT_STATUSES] } },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
  );
  const activeTags = new Set<string>();
  for (const enrollment of live) {
    enrollment.status = 'cancelled';
    enrollment.endReason = reason;
    enrollment.endedAt = now;
    enrollment.pausedAt = null;
    appendEvent(tx, eventFor(enrollment, 'enrollment.cancelled', { reason, ...source }));
  }
  if (live.length > 0) {
    const sequences = await tx.find(Sequence, { id: { $in: live.map((e) => e.sequence) } });
    for (const sequence of sequences) if (sequence.activeTag) activeTags.add(sequence.activeTag);
  }
  // E11: the sequences' active tags come off with the enrollments.
  if (activeTags.size > 0) contact.tags = contact.tags.filter((tag) => !activeTags.has(tag));
  await tx.flush();
  return {
    changed: true,
    suppression,
    endedWorkflows: live.map((enrollment) => ({ workflowId: enrollment.workflowId, reason })),
  };
}

/** After the commit: tell each ended enrollment's workflow, so it stops waiting at once. */
export async function signalEndedWorkflows(
  temporal: TemporalAccess,
  ended: SuppressionResult['endedWorkflows'],
  logger: Logger | FastifyBaseLogger,
): Promise<void> {
  await Promise.all(
    ended.map(async ({ workflowId, reason }) => {
      try {
        await temporal.client.workflow.getHandle(workflowId).signal(cancelSignal, { reason });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return;
        // The enrollment row is ended already; the workflow finds out at its next send (D2).
        logger.warn({ err: error, workflowId }, 'could not signal a suppressed enrollment');
      }
    }),
  );
}
