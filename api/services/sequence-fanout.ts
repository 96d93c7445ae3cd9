/**
 * Committing a change to a sequence, then telling its enrollments (the sequence fan-out,
 * workflows/sequence-fanout.ts).
 *
 * The row lock is what makes a pause effective the moment it returns: every send holds the
 * sequence row FOR SHARE from its guard (D2) until the provider has answered, so a change
 * waits for sends already in flight, and every later send sees it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Sequence } from '../../db/entities/index.js';
import type { SequenceFanOutAction, SequenceFanOutInput } from '../../workflows/fanout-types.js';
import { fanOutTaskQueue, sequenceFanOutWorkflowId } from '../../workflows/ids.js';
import type { sequenceFanOutWorkflow } from '../../workflows/sequence-fanout.js';
import type { ServiceContext, TemporalAccess } from '../context.js';
import { notFound } from '../errors.js';

/**
 * A change to a locked sequence. It answers what its enrollments must be told (null: nothing),
 * or `unchanged` when there was nothing to change.
 */
export type Change = (
  sequence: Sequence,
  tx: EntityManager,
) => Promise<SequenceFanOutAction | null | 'unchanged'>;

/**
 * Applies `change` to the locked sequence, bumps its revision and commits; then starts the
 * fan-out the change asked for (after the commit: workflows must read the committed state).
 */
export async function changeSequence(
  ctx: ServiceContext,
  sequenceId: string,
  change: Change,
): Promise<Sequence> {
  const { sequence, action } = await ctx.em.fork().transactional(async (tx) => {
    // NO KEY UPDATE: it waits for sends in flight (they hold the row FOR SHARE) but not for
    // transactions that merely reference the sequence (an enrollment being inserted holds its
    // FOR KEY SHARE lock until it commits; those check the status again at their end).
    await tx
      .getConnection()
      .execute(
        'select 1 from sequence where id = ? and workspace_id = ? for no key update',
        [sequenceId, ctx.workspaceId],
        'all',
        tx.getTransactionContext(),
      );
    const locked = await tx.findOne(Sequence, { id: sequenceId, workspace: ctx.workspaceId });
    if (!locked || locked.status === 'deleted') throw notFound('Sequence', sequenceId);
    const outcome = await change(locked, tx);
    if (outcome === 'unchanged') return { sequence: locked, action: null };
    locked.revision += 1;
    await tx.flush();
    return { sequence: locked, action: outcome };
  });
  if (action) await startSequenceFanOut(ctx.temporal, sequence, action);
  return sequence;
}

/**
 * Starts the fan-out of one committed revision. Idempotent: the run's id is the revision, so
 * repeating a change that already fanned out (a client retrying after a lost answer) finds
 * the run, running or done, and starts nothing new.
 */
export async function startSequenceFanOut(
  temporal: TemporalAccess,
  sequence: { id: string; workspace: string; revision: number },
  action: SequenceFanOutAction,
): Promise<void> {
  const input: SequenceFanOutInput = {
    workspaceId: sequence.workspace,
    sequenceId: sequence.id,
    action,
    revision: sequence.revision,
  };
  try {
    await temporal.client.workflow.start<typeof sequenceFanOutWorkflow>('sequenceFanOutWorkflow', {
      workflowId: sequenceFanOutWorkflowId(sequence.id, sequence.revision),
      taskQueue: fanOutTaskQueue(temporal.taskQueue),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `${action} → enrollments of sequence ${sequence.id} (revision ${sequence.revision})`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
