/**
 * The send activity: D2 guard, D1 ledger, D3 render, D4 classification, in one transaction
 * that holds the sequence, contact and enrollment rows. A pause, stop or suppression
 * updates one of those rows, so it waits for an in-flight send to finish, and every send
 * that starts after it sees it: once a pause request has returned, nothing more goes out.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { Contact, Delivery, Enrollment, Sequence, SequenceVersion } from '../db/entities/index.js';
import { renderStep } from '../email/render.js';
import type { StepDefinition } from '../workflows/plan.js';
import type { ActivityDeps } from './deps.js';
import { appendEvent } from './event-log.js';
import { checkSendGuard } from './guard.js';
import type { NextStepMirror, SendStepInput, SendStepResult } from './types.js';

/** D1: the provider's Idempotency-Key is derived from the ledger row's unique key. */
export function deliveryIdempotencyKey(
  input: Pick<SendStepInput, 'enrollmentId' | 'generation' | 'stepId' | 'kind'>,
) {
  return `nudge/${input.enrollmentId}/${input.generation}/${input.stepId}/${input.kind}`;
}

export function createSendStep(deps: ActivityDeps) {
  return async function sendStep(input: SendStepInput): Promise<SendStepResult> {
    try {
      return await whileHeartbeating(deps.orm.em.fork().transactional((tx) => sendLocked(tx, deps, input)));
    } catch (error) {
      if (!(error instanceof RetryLater)) throw error;
      // D4: transient — nothing was committed; leave a trace and let Temporal retry with backoff.
      await recordTransientFailure(deps, input, error.reason);
      throw ApplicationFailure.create({
        type: 'ProviderTransientError',
        message: error.reason,
        nonRetryable: false,
        ...(error.retryAfterMs !== undefined ? { nextRetryDelay: error.retryAfterMs } : {}),
      });
    }
  };
}

async function sendLocked(
  tx: EntityManager,
  deps: ActivityDeps,
  input: SendStepInput,
): Promise<SendStepResult> {
  // Lock order (sequence → contact → enrollment) matches every writer's, so no deadlocks.
  const enrollmentRow = await tx.findOne(Enrollment, input.enrollmentId);
  if (!enrollmentRow) return { outcome: 'ended', status: 'cancelled', reason: 'record_missing' };
  const sequence = await tx.findOne(Sequence, enrollmentRow.sequence, {
    lockMode: LockMode.PESSIMISTIC_READ,
  });
  const contact = await tx.findOne(Contact, enrollmentRow.contact, { lockMode: LockMode.PESSIMISTIC_READ });
  const enrollment = await tx.findOne(Enrollment, input.enrollmentId, {
    lockMode: LockMode.PESSIMISTIC_WRITE,
    refresh: true,
  });

  const ledgerKey = {
    enrollment: input.enrollmentId,
    generation: input.generation,
    stepId: input.stepId,
    kind: input.kind,
  };
  const existing = await tx.findOne(Delivery, ledgerKey);
  if (existing && existing.status !== 'failed') {
    // D1: a retry after a crash (or a duplicate activity) finds the committed row: never twice.
    return {
      outcome: 'sent',
      deliveryId: existing.id,
      providerMessageId: existing.providerMessageId ?? null,
      alreadySent: true,
    };
  }
  if (existing) return { outcome: 'failed', reason: existing.error ?? 'failed', endsEnrollment: false };

  const step = sequence?.liveVersion
    ? await liveStep(tx, sequence.id, sequence.liveVersion, input.stepId)
    : null;
  const refusal = checkSendGuard(sequence, enrollment, contact, input.generation, step !== null);
  if (refusal || !sequence || !contact || !enrollment || !step) {
    const result = refusal ?? {
      outcome: 'ended' as const,
      status: 'cancelled' as const,
      reason: 'record_missing',
    };
    if (enrollment) {
      appendEvent(tx, {
        workspace: enrollment.workspace,
        sequence: enrollment.sequence,
        contact: enrollment.contact,
        enrollment: enrollment.id,
        type: 'send.refused',
        data: { stepId: input.stepId, ...result },
      });
    }
    return result;
  }

  // D3: rendered now, from the live version, with the contact as it is now.
  const rendered = await renderStep(step, {
    contact: {
      email: contact.email,
      name: contact.name ?? null,
      timeZone: contact.timeZone ?? null,
      attributes: contact.attributes,
      tags: contact.tags,
    },
    sequence: { name: sequence.name },
    unsubscribeUrl: null,
  });
  const idempotencyKey = deliveryIdempotencyKey(input);
  // The ledger row is written before the provider is called; the unique key makes a
  // concurrent duplicate attempt wait here and then find this row.
  const row = tx.create(Delivery, {
    ...ledgerKey,
    workspace: enrollment.workspace,
    sequence: sequence.id,
    contact: contact.id,
    status: 'sending',
    idempotencyKey,
    provider: deps.email.provider,
    toEmail: contact.email,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    scheduledAt: new Date(input.scheduledAtMs),
  });
  await tx.flush();

  const sent = await deps.email.send(
    {
      from: deps.config.from,
      to: contact.email,
      subject: rendered.subject,
      html: rendered.html,
      ...(rendered.text ? { text: rendered.text } : {}),
    },
    idempotencyKey,
  );
  const now = deps.clock();
  const eventBase = {
    workspace: enrollment.workspace,
    sequence: sequence.id,
    contact: contact.id,
    enrollment: enrollment.id,
  };

  if (sent.ok || sent.kind === 'already_accepted') {
    row.status = 'sent';
    row.providerMessageId = sent.ok ? sent.providerMessageId : null;
    row.sentAt = now;
    mirrorNextStep(enrollment, input.next);
    appendEvent(tx, {
      ...eventBase,
      type: 'delivery.sent',
      data: { stepId: input.stepId, kind: input.kind, deliveryId: row.id },
    });
    return {
      outcome: 'sent',
      deliveryId: row.id,
      providerMessageId: row.providerMessageId ?? null,
      alreadySent: false,
    };
  }
  if (sent.kind === 'permanent') {
    row.status = 'failed';
    row.error = sent.reason;
    mirrorNextStep(enrollment, input.next);
    appendEvent(tx, {
      ...eventBase,
      type: 'delivery.failed',
      data: { stepId: input.stepId, reason: sent.reason },
    });
    return { outcome: 'failed', reason: sent.reason, endsEnrollment: false };
  }
  // Transient: roll the row back so the retry starts clean (the same key dedupes at the provider).
  throw new RetryLater(sent.reason, sent.retryAfterMs);
}

/**
 * Heartbeats while a send is slow (a lock wait, a slow provider), so that the workflow's short
 * heartbeat timeout only fires when the worker is gone. Quick sends never heartbeat at all.
 */
async function whileHeartbeating<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const context = Context.current();
    timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  } catch {
    // Not running as an activity (a direct call in a unit test): nothing to heartbeat to.
  }
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
const HEARTBEAT_EVERY_MS = 3_000;

/** Thrown inside the transaction to roll it back; turned into a retryable failure outside. */
class RetryLater extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(reason);
  }
}

async function liveStep(
  em: EntityManager,
  sequenceId: string,
  version: number,
  stepId: string,
): Promise<StepDefinition | null> {
  const live = await em.findOne(SequenceVersion, { sequence: sequenceId, version });
  return live?.steps.find((step) => step.id === stepId) ?? null;
}

function mirrorNextStep(enrollment: Enrollment, next: NextStepMirror | null): void {
  enrollment.currentStepId = next?.stepId ?? null;
  enrollment.currentStepIndex = next?.index ?? null;
  enrollment.dueAt = next ? new Date(next.dueAtMs) : null;
}

async function recordTransientFailure(
  deps: ActivityDeps,
  input: SendStepInput,
  reason: string,
): Promise<void> {
  const em = deps.orm.em.fork();
  const enrollment = await em.findOne(Enrollment, input.enrollmentId);
  if (!enrollment) return;
  appendEvent(em, {
    workspace: enrollment.workspace,
    sequence: enrollment.sequence,
    contact: enrollment.contact,
    enrollment: enrollment.id,
    type: 'delivery.retrying',
    data: { stepId: input.stepId, reason },
  });
  await em.flush();
}
