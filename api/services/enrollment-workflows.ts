/** Starting an enrollment's workflow: one definition for single and bulk enrollment. */
import { WorkflowNotFoundError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';
import { enrollmentWorkflowId } from '../../workflows/ids.js';
import {
  ContactEmailAttribute,
  ContactIdAttribute,
  EnrollmentStatusAttribute,
  SequenceIdAttribute,
} from '../../workflows/search-attributes.js';
import { enrollmentDetails, enrollmentSummary } from '../../workflows/run-metadata.js';
import { resolveTimeZone } from '../../workflows/send-window.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TemporalAccess } from '../context.js';
import { notFound, sequenceIsPaused } from '../errors.js';

export interface NewEnrollment {
  enrollmentId: string;
  workspaceId: string;
  generation: number;
  sequence: { id: string; name: string; timeZone?: string | null };
  contact: { id: string; email: string; name?: string | null; timeZone?: string | null };
}

/**
 * Starts the workflow of an enrollment whose row is being inserted in the caller's open
 * transaction (holding its start lock, db/enrollment-start-lock.ts). The conflict policy
 * returns a still-running workflow instead of failing (E2/E10 are decided by the database).
 */
export async function startEnrollmentWorkflow(
  temporal: TemporalAccess,
  enrollment: NewEnrollment,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof enrollmentWorkflow>> {
  try {
    return await start(temporal, enrollment);
  } catch (error) {
    // A run to be replaced that completes at that very moment fails the start as "not found"
    // (seen on the time-skipping test server); the id is free then, so start again.
    if (enrollment.generation > 1 && error instanceof WorkflowNotFoundError)
      return start(temporal, enrollment);
    throw error;
  }
}

function start(temporal: TemporalAccess, enrollment: NewEnrollment) {
  const { sequence, contact, generation, enrollmentId } = enrollment;
  return temporal.client.workflow.start<typeof enrollmentWorkflow>('enrollmentWorkflow', {
    workflowId: enrollmentWorkflowId(sequence.id, contact.id),
    taskQueue: temporal.taskQueue,
    args: [
      {
        enrollmentId,
        workspaceId: enrollment.workspaceId,
        sequenceId: sequence.id,
        contactId: contact.id,
        generation,
      },
    ],
    // The database has decided E2/E10 before this start. Generation 1 keeps Temporal's own
    // guard (a running workflow is returned, DESIGN §4). A later generation (E3, E6, E7) may
    // find the previous generation's run still finishing its bookkeeping after a stop: its
    // row is ended already, so that run is replaced rather than mistaken for this one.
    workflowIdConflictPolicy: generation > 1 ? 'TERMINATE_EXISTING' : 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: SequenceIdAttribute, value: sequence.id },
      { key: ContactIdAttribute, value: contact.id },
      { key: ContactEmailAttribute, value: contact.email },
      { key: EnrollmentStatusAttribute, value: 'active' },
    ],
    memo: { enrollmentId, generation },
    // What the Temporal UI shows for the run ("Onboarding → ada@example.com").
    staticSummary: enrollmentSummary({ sequence, contact }),
    staticDetails: enrollmentDetails({
      sequence,
      contact: { email: contact.email, name: contact.name ?? null },
      enrollmentId,
      generation,
      timeZone: resolveTimeZone(contact.timeZone, sequence.timeZone),
    }),
  });
}

/**
 * S3 at the last moment of an enrolling transaction: the sequence row is taken FOR SHARE and
 * must still be active. A pause committed meanwhile refuses the enrollments (the transaction
 * rolls back, and the workflows it started find no row and end); a pause that comes later
 * waits for this commit, then its fan-out finds these enrollments. The lock is held only
 * for the commit, so a pause is never kept waiting for a slow bulk request.
 */
export async function assertStillEnrollable(tx: EntityManager, sequenceId: string): Promise<void> {
  const [row] = await tx
    .getConnection()
    .execute<{ status: string }[]>(
      'select status from sequence where id = ? for share',
      [sequenceId],
      'all',
      tx.getTransactionContext(),
    );
  if (row?.status === 'active') return;
  if (row?.status === 'paused') throw sequenceIsPaused();
  throw notFound('Sequence', sequenceId);
}
