/**
 * The sequence fan-out activity (workflows/sequence-fanout.ts): tells every affected
 * enrollment's workflow about a sequence change, a page of enrollments at a time, a bounded
 * number of signals in flight. It heartbeats its position after each page, so a retry after
 * a crash continues where it stopped instead of starting over.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import pLimit from 'p-limit';
import { Enrollment, LIVE_ENROLLMENT_STATUSES } from '../db/entities/index.js';
import {
  SEQUENCE_DELETED,
  type SequenceFanOutInput,
  type SequenceFanOutResult,
} from '../workflows/fanout-types.js';
import { cancelSignal, pauseSignal, resumeSignal, sequenceChangedSignal } from '../workflows/messages.js';
import { sequenceFanOutWorkflowId } from '../workflows/ids.js';
import { SequenceIdAttribute } from '../workflows/search-attributes.js';
import type { FanOutDeps } from './deps.js';

const PAGE_SIZE = 500;

interface Position extends SequenceFanOutResult {
  /** The last enrollment id told; pages are in id order. */
  afterId: string | null;
}

export function createFanOut(deps: FanOutDeps) {
  return async function fanOutToEnrollments(input: SequenceFanOutInput): Promise<SequenceFanOutResult> {
    const context = Context.current();
    const position: Position = {
      afterId: null,
      reached: 0,
      gone: 0,
      ...(context.info.heartbeatDetails as Position | undefined),
    };
    if (input.action === 'purge') return purgeWorkflowHistories(deps, input, position, context);

    const tell = messageFor(input);
    const limit = pLimit(deps.fanOutConcurrency);
    // Pipelined: the next page is read, and its signals queue up behind this page's, while
    // this page is still being told, so the signals in flight never drain at a page boundary.
    // The position moves on (and is heartbeated) only once a page and all before it are done.
    const pagesTold: Promise<void>[] = [];
    let page = await enrollmentsToTell(deps, input, position.afterId);
    while (page.length > 0) {
      const lastId = page.at(-1)!.id;
      const outcomes = Promise.all(
        page.map(({ workflowId }) =>
          limit(() => ignoringEnded(() => tell(deps.temporal.workflow.getHandle(workflowId)))),
        ),
      );
      const told = Promise.all([pagesTold.at(-1), outcomes]).then(([, reached]) => {
        for (const wasReached of reached) {
          if (wasReached) position.reached += 1;
          else position.gone += 1;
        }
        position.afterId = lastId;
        // A copy: the SDK may encode the details of a heartbeat later, when the next pages
        // have already moved the counts on.
        context.heartbeat({ ...position });
      });
      told.catch(() => {}); // awaited below; a failure must not surface as unhandled meanwhile
      pagesTold.push(told);
      if (pagesTold.length >= MAX_PAGES_IN_FLIGHT) await pagesTold.shift();
      page = await enrollmentsToTell(deps, input, lastId);
    }
    await Promise.all(pagesTold);
    return { reached: position.reached, gone: position.gone };
  };
}

/** Pages being told at once: the one in flight and the next, so signals flow across a boundary. */
const MAX_PAGES_IN_FLIGHT = 2;

function messageFor(input: SequenceFanOutInput): (handle: WorkflowHandle) => Promise<void> {
  const request = { source: 'sequence' as const, revision: input.revision };
  switch (input.action) {
    case 'pause':
      return (handle) => handle.signal(pauseSignal, request);
    case 'resume':
      return (handle) => handle.signal(resumeSignal, request);
    case 'changed':
      return (handle) => handle.signal(sequenceChangedSignal);
    case 'cancel':
    case 'purge':
      return (handle) => handle.signal(cancelSignal, { reason: SEQUENCE_DELETED });
  }
}

/** Live enrollments for a pause, resume or edit; for a delete, those the delete ended. */
function enrollmentsToTell(deps: FanOutDeps, input: SequenceFanOutInput, afterId: string | null) {
  const affected =
    input.action === 'cancel'
      ? { status: 'cancelled' as const, endReason: SEQUENCE_DELETED }
      : { status: { $in: [...LIVE_ENROLLMENT_STATUSES] } };
  return deps.orm.em.fork().find(
    Enrollment,
    {
      sequence: input.sequenceId,
      workspace: input.workspaceId,
      ...affected,
      ...(afterId ? { id: { $gt: afterId } } : {}),
    },
    { fields: ['id', 'workflowId'], orderBy: { id: 'asc' }, limit: PAGE_SIZE },
  );
}

/** True when the workflow was reached; false when it had ended (nothing left to tell). */
async function ignoringEnded(call: () => Promise<void>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * S6 purge: the sequence's rows are gone already; this erases its workflow histories too:
 * every run of its enrollments (contact emails live in their search attributes), found
 * through visibility, and its earlier fan-outs, found by id. Deleting a running workflow
 * terminates it. A run whose deletion the server has accepted may stay listed for a while
 * (the server deletes it in the background), so it is asked once; listing stops when a
 * whole pass finds nothing new.
 */
async function purgeWorkflowHistories(
  deps: FanOutDeps,
  input: SequenceFanOutInput,
  position: Position,
  context: Context,
): Promise<SequenceFanOutResult> {
  const client = deps.temporal;
  const namespace = client.options.namespace;
  const limit = pLimit(deps.fanOutConcurrency);
  const asked = new Set<string>();
  /** True once deleted (or deleting); false when there was nothing to delete. */
  const erase = (workflowExecution: { workflowId: string; runId?: string }) =>
    limit(async () => {
      try {
        await client.workflowService.deleteWorkflowExecution({ namespace, workflowExecution });
        return true;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        return false;
      }
    });

  const query = `${SequenceIdAttribute.name} = "${input.sequenceId}"`;
  for (let pass = 0; ; pass++) {
    let found = 0;
    let page: Promise<void>[] = [];
    const count = async (erased: Promise<boolean>) => {
      if (await erased) position.reached += 1;
      else position.gone += 1;
    };
    for await (const run of client.workflow.list({ query, pageSize: PAGE_SIZE })) {
      if (asked.has(run.runId)) continue;
      asked.add(run.runId);
      found += 1;
      page.push(count(erase({ workflowId: run.workflowId, runId: run.runId })));
      if (page.length >= PAGE_SIZE) {
        await Promise.all(page);
        page = [];
        context.heartbeat(position);
      }
    }
    await Promise.all(page);
    context.heartbeat(position);
    // Once more after a pause: a run that continued as new meanwhile, or one visibility
    // had not shown yet, turns up in the next pass.
    if (found === 0 && pass > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }

  // The sequence's earlier fan-outs (one workflow id per revision; not every revision has one).
  const self = context.info.workflowExecution?.workflowId;
  const fanOuts = Array.from({ length: input.revision }, (_, i) =>
    sequenceFanOutWorkflowId(input.sequenceId, i + 1),
  ).filter((workflowId) => workflowId !== self);
  await Promise.all(fanOuts.map((workflowId) => erase({ workflowId })));
  return { reached: position.reached, gone: position.gone };
}

/** gRPC NOT_FOUND (code 5): deleted already. */
function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 5;
}
