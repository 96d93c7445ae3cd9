/**
 * The send activity: D2 guard, D1 ledger, D3 render, D4 classification.
 *
 * One transaction holds the sequence and contact rows (FOR SHARE) and the enrollment row
 * (FOR NO KEY UPDATE) from the guard until the provider has answered. A pause, stop or
 * suppression updates one of those rows, so it waits for an in-flight send to finish, and
 * every send that starts after it sees it: once a pause request has returned, nothing more
 * of that sequence reaches the provider.
 *
 * Exactly once (D1). Once the guard has passed, the ledger row is *committed* as `sending`
 * (on a second connection, while the locks stay held) before the provider is called, with
 * the whole request (sender, recipient, rendered content, headers). Its unique key gives the
 * provider's Idempotency-Key. So after any crash the row tells what may have happened:
 * - no row: the provider was never called for this step;
 * - a `sending` row: it may have been. The retry sends the very same request with the same
 *   key, which the provider answers without delivering twice. Resend keeps keys 24 hours,
 *   so an unfinished row older than ORPHAN_RETRY_WINDOW_MS is never sent again: it fails
 *   as `outcome_unknown` (at most once beats at least once), and a later webhook about the
 *   email, matched by its tag, still records what became of it;
 * - a finished row (`sent`, `failed`, …): the step is done; the retry reports it.
 *
 * With a provider rate (D5) a send is rendered and journaled before it queues for its turn,
 * and the guarded transaction runs in its turn: it checks again under the locks, sends what
 * was prepared if nothing it was rendered from changed meanwhile (or renders afresh), and
 * removes a prepared row it does not send, which the provider never saw.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { DEVELOPMENT_UNSUBSCRIBE_SECRET } from '../config/config.js';
import {
  Delivery,
  SequenceVersion,
  type Contact,
  type DeliveryFailure,
  type Enrollment,
  type Sequence,
} from '../db/entities/index.js';
import { renderStep, TemplateError } from '../email/render.js';
import { DELIVERY_TAG, type OutgoingEmail } from '../email/sender.js';
import { listUnsubscribeHeaders, unsubscribeUrl } from '../email/unsubscribe.js';
import type { StepDefinition } from '../workflows/plan.js';
import { ALL_STEPS_DONE } from '../workflows/state.js';
import type { ActivityDeps } from './deps.js';
import { recordEnding } from './ending.js';
import { mirrorColumns } from './progress-mirror.js';
import { appendEvent } from './event-log.js';
import { checkSendGuard, type GuardRefusal } from './guard.js';
import { lockSendRows, readSendRows } from './send-rows.js';
import { takeSendTurn, type SendTurn } from './send-pacer.js';
import type { SendStepInput, SendStepResult } from './types.js';

/** Resend remembers an Idempotency-Key for 24 hours; retries stay well inside that. */
export const ORPHAN_RETRY_WINDOW_MS = 23 * 60 * 60 * 1000;

/** D1: the provider's Idempotency-Key is derived from the ledger row's unique key. */
export function deliveryIdempotencyKey(
  input: Pick<SendStepInput, 'enrollmentId' | 'generation' | 'stepId' | 'kind'>,
) {
  return `nudge/${input.enrollmentId}/${input.generation}/${input.stepId}/${input.kind}`;
}

/** A transient provider failure: the transaction commits its bookkeeping, then Temporal retries. */
interface RetryLater {
  outcome: 'retry';
  reason: string;
  retryAfterMs?: number;
}

export function createSendStep(deps: ActivityDeps) {
  return async function sendStep(input: SendStepInput): Promise<SendStepResult> {
    const result = await whileHeartbeating(sendInTurn(deps, input));
    if (result.outcome !== 'retry') return result;
    // D4: transient; Temporal retries with backoff, or after the provider's retry-after.
    throw ApplicationFailure.create({
      type: 'ProviderTransientError',
      message: result.reason,
      nonRetryable: false,
      ...(result.retryAfterMs !== undefined ? { nextRetryDelay: result.retryAfterMs } : {}),
    });
  };
}

/**
 * D5: with a provider rate, a send queues for its turn holding no row a pause needs. What
 * costs most (reading, rendering, journaling the request) is done before it queues; in its
 * turn only the guarded part runs (the locks, the checks, the call), so turns stay short and
 * a pause waits only for the sends whose slots are at most `GUARD_LEAD_MS` away (one or two
 * per worker), never for the queue. Without a rate: one transaction.
 */
async function sendInTurn(deps: ActivityDeps, input: SendStepInput): Promise<SendStepResult | RetryLater> {
  const prepared = deps.config.sendRatePerSecond ? await prepareDelivery(deps, input) : null;
  const turn = await takeSendTurn(deps.orm, deps.config.sendRatePerSecond);
  try {
    return await deps.orm.em.fork().transactional((tx) => sendLocked(tx, deps, input, turn, prepared));
  } finally {
    await turn.release(); // nothing when it departed
  }
}

/** A request rendered and journaled (`sending`) before the send's turn, not yet sent. */
interface PreparedDelivery {
  id: string;
  idempotencyKey: string;
  email: OutgoingEmail;
  /** What it was rendered from: the guarded part renders afresh if any of it changed since. */
  renderedFrom: string;
}

/**
 * Renders and journals a send the guard would let through now, without locks. Null when the
 * guarded part must decide anyway: a refusal, an earlier attempt, a template that fails.
 */
async function prepareDelivery(deps: ActivityDeps, input: SendStepInput): Promise<PreparedDelivery | null> {
  const em = deps.orm.em.fork();
  const ledgerKey = ledgerKeyOf(input);
  const rows = await readSendRows(em, input);
  if (!rows || rows.existing) return null;
  const { sequence, contact, enrollment } = rows;
  if (!sequence.liveVersion) return null;
  const step = await liveStep(em, sequence.id, sequence.liveVersion, input.stepId);
  if (!step || checkSendGuard(sequence, enrollment, contact, input.generation, true)) return null;
  if (input.kind === 'resend' && !(await wasSent(em, ledgerKey))) return null;
  const id = randomUUID();
  let email: OutgoingEmail;
  try {
    email = await renderEmail(deps, { id, enrollment, contact, sequence, step });
  } catch (error) {
    if (error instanceof TemplateError) return null;
    throw error;
  }
  const prepared = {
    id,
    idempotencyKey: deliveryIdempotencyKey(input),
    email,
    renderedFrom: renderInputs(sequence, step, contact),
  };
  try {
    await journal(deps, em, {
      ...prepared,
      ...ledgerKey,
      base: eventBase(enrollment),
      scheduledAt: new Date(input.scheduledAtMs),
      status: 'sending',
    });
  } catch (error) {
    // Another attempt of this send journaled it first: the guarded part sees that row.
    if (error instanceof UniqueConstraintViolationException) return null;
    throw error;
  }
  return prepared;
}

async function sendLocked(
  tx: EntityManager,
  deps: ActivityDeps,
  input: SendStepInput,
  turn: SendTurn,
  prepared: PreparedDelivery | null,
): Promise<SendStepResult | RetryLater> {
  // Locked in the order every writer locks them (sequence → contact → enrollment): no deadlocks.
  const rows = await lockSendRows(tx, input);
  if (!rows) return { outcome: 'ended', status: 'cancelled', reason: 'record_missing' };
  const { sequence, contact, enrollment } = rows;

  const ledgerKey = ledgerKeyOf(input);
  let existing = rows.existing;
  // This attempt's own prepared row, still unsent: not an earlier attempt to repeat. (Sent
  // meanwhile by a retry of this activity that overtook it, it is finished, reported below.)
  const ownPrepared =
    prepared && existing?.id === prepared.id && existing.status === 'sending' ? prepared : null;
  if (ownPrepared) existing = null;
  if (existing && existing.status !== 'sending') return finishedResult(existing, enrollment, input);

  const step = sequence.liveVersion
    ? await liveStep(tx, sequence.id, sequence.liveVersion, input.stepId)
    : null;
  const refusal = checkSendGuard(sequence, enrollment, contact, input.generation, step !== null);
  if (refusal || !step) {
    // No step and no refusal cannot happen: the guard refuses a step that is not live.
    const result: GuardRefusal = refusal ?? { outcome: 'step_removed', reason: 'step_not_in_live_version' };
    if (ownPrepared) await forgetPrepared(tx, ownPrepared);
    appendEvent(tx, {
      ...eventBase(enrollment),
      type: 'send.refused',
      data: { stepId: input.stepId, kind: input.kind, ...result },
    });
    // A held step keeps its unfinished attempt for when it is resumed; a step that will never
    // be sent closes it, without knowing whether the provider got it.
    if (existing && result.outcome !== 'held') {
      await failDelivery(tx, existing.id, 'outcome_unknown', `interrupted, then refused: ${result.reason}`);
    }
    return result;
  }
  const base = eventBase(enrollment);
  const now = deps.clock();
  if (input.kind === 'resend' && !existing && !(await wasSent(tx, ledgerKey))) {
    // E9: only an email that went out can be sent again (the API and the workflow check too).
    if (ownPrepared) await forgetPrepared(tx, ownPrepared);
    appendEvent(tx, { ...base, type: 'send.refused', data: { stepId: input.stepId, kind: 'resend' } });
    return { outcome: 'failed', reason: 'not_sent_before', endsEnrollment: false };
  }

  let delivery: { id: string; idempotencyKey: string; email: OutgoingEmail };
  let journaledNow = false;
  if (existing) {
    if (now.getTime() - existing.createdAt.getTime() > ORPHAN_RETRY_WINDOW_MS) {
      const reason = 'an earlier attempt may have reached the provider, too long ago to retry safely';
      await failDelivery(tx, existing.id, 'outcome_unknown', reason);
      mirrorNextStep(enrollment, input);
      appendEvent(tx, { ...base, type: 'delivery.failed', data: { stepId: input.stepId, reason } });
      return { outcome: 'failed', reason: 'outcome_unknown', endsEnrollment: false };
    }
    // D1: the very same request again; the provider dedupes it by its key.
    delivery = {
      id: existing.id,
      idempotencyKey: existing.idempotencyKey,
      email: storedEmail(existing, deps),
    };
  } else if (ownPrepared && ownPrepared.renderedFrom === renderInputs(sequence, step, contact)) {
    delivery = ownPrepared;
    journaledNow = true;
  } else {
    // Rendered afresh (D3): nothing prepared, or a copy or contact edit since it was.
    const id = ownPrepared?.id ?? randomUUID();
    let email: OutgoingEmail;
    try {
      email = await renderEmail(deps, { id, enrollment, contact, sequence, step });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      // Publishing checks templates against a sample contact; this contact's data broke one.
      const reason = `the ${error.part} template does not render: ${error.message}`;
      if (ownPrepared) await forgetPrepared(tx, ownPrepared);
      await journal(deps, tx, {
        id,
        ...ledgerKey,
        base,
        idempotencyKey: deliveryIdempotencyKey(input),
        email: { from: deps.config.from, to: contact.email, subject: '', html: '' },
        scheduledAt: new Date(input.scheduledAtMs),
        status: 'failed',
        failure: { kind: 'rejected_content', reason },
      });
      mirrorNextStep(enrollment, input);
      appendEvent(tx, { ...base, type: 'delivery.failed', data: { stepId: input.stepId, reason } });
      return { outcome: 'failed', reason: 'rejected_content', endsEnrollment: false };
    }
    delivery = { id, idempotencyKey: deliveryIdempotencyKey(input), email };
    if (ownPrepared) await journalAgain(deps, id, email);
    else {
      await journal(deps, tx, {
        id,
        ...ledgerKey,
        base,
        idempotencyKey: delivery.idempotencyKey,
        email: delivery.email,
        scheduledAt: new Date(input.scheduledAtMs),
        status: 'sending',
      });
    }
    journaledNow = true;
  }

  // D5: the call leaves in its turn.
  const { answer: sent } = await turn.depart((onRequestSent) =>
    deps.email.send(delivery.email, delivery.idempotencyKey, { onRequestSent }),
  );

  if (sent.ok || sent.kind === 'already_accepted') {
    const providerMessageId = sent.ok ? sent.providerMessageId : null;
    await tx.nativeUpdate(
      Delivery,
      { id: delivery.id },
      { status: 'sent', providerMessageId, sentAt: deps.clock(), error: null },
    );
    appendEvent(tx, {
      ...base,
      type: 'delivery.sent',
      data: { stepId: input.stepId, kind: input.kind, deliveryId: delivery.id, retried: !journaledNow },
    });
    const completedEnrollment = completesEnrollment(input, sequence);
    if (completedEnrollment) {
      recordEnding(
        tx,
        enrollment,
        { status: ALL_STEPS_DONE.outcome, reason: ALL_STEPS_DONE.reason, generation: input.generation },
        deps.clock(),
      );
    } else {
      mirrorNextStep(enrollment, input);
    }
    return {
      outcome: 'sent',
      deliveryId: delivery.id,
      providerMessageId,
      alreadySent: false,
      completedEnrollment,
    };
  }
  if (sent.kind === 'permanent') {
    await failDelivery(tx, delivery.id, sent.failure, sent.reason);
    const endsEnrollment = sent.failure === 'invalid_recipient';
    if (!endsEnrollment) mirrorNextStep(enrollment, input);
    appendEvent(tx, {
      ...base,
      type: 'delivery.failed',
      data: { stepId: input.stepId, failure: sent.failure, reason: sent.reason },
    });
    return { outcome: 'failed', reason: sent.failure, endsEnrollment };
  }
  // Transient. If the provider certainly did not take it, forget this attempt's row, so the
  // retry starts clean (and renders the latest copy); otherwise keep it for the retry.
  if (journaledNow && sent.accepted === false) {
    await tx.nativeDelete(Delivery, { id: delivery.id, status: 'sending' });
  }
  appendEvent(tx, {
    ...base,
    type: 'delivery.retrying',
    data: { stepId: input.stepId, reason: sent.reason, deliveryId: delivery.id },
  });
  return {
    outcome: 'retry',
    reason: sent.reason,
    ...(sent.retryAfterMs !== undefined ? { retryAfterMs: sent.retryAfterMs } : {}),
  };
}

/** D3: the email for `step`, rendered now from the live version with the contact as it is now. */
async function renderEmail(
  deps: ActivityDeps,
  of: { id: string; enrollment: Enrollment; contact: Contact; sequence: Sequence; step: StepDefinition },
): Promise<OutgoingEmail> {
  const { id, enrollment, contact, sequence, step } = of;
  const url = unsubscribeUrl(deps.config.publicUrl, unsubscribeSecret(deps), {
    workspaceId: enrollment.workspace,
    contactId: contact.id,
    deliveryId: id,
  });
  const rendered = await renderStep(step, {
    contact: {
      email: contact.email,
      name: contact.name ?? null,
      timeZone: contact.timeZone ?? null,
      attributes: contact.attributes,
      tags: contact.tags,
    },
    sequence: { name: sequence.name },
    unsubscribeUrl: url,
  });
  return {
    from: deps.config.from,
    to: contact.email,
    subject: rendered.subject,
    html: rendered.html,
    ...(rendered.text ? { text: rendered.text } : {}),
    headers: listUnsubscribeHeaders(url),
    tags: [{ name: DELIVERY_TAG, value: id }],
  };
}

/** Everything an email is rendered from, to tell whether a prepared one is still current. */
function renderInputs(sequence: Sequence, step: StepDefinition, contact: Contact): string {
  const { email, name, timeZone, attributes, tags } = contact;
  return JSON.stringify([sequence.liveVersion, sequence.name, step, email, name, timeZone, attributes, tags]);
}

/** A prepared row the provider never saw: removed, so it is neither retried nor reported. */
async function forgetPrepared(tx: EntityManager, prepared: PreparedDelivery): Promise<void> {
  await tx.nativeDelete(Delivery, { id: prepared.id, status: 'sending' });
}

function ledgerKeyOf(input: SendStepInput) {
  return {
    enrollment: input.enrollmentId,
    generation: input.generation,
    stepId: input.stepId,
    kind: input.kind,
  };
}

async function wasSent(tx: EntityManager, key: { enrollment: string; generation: number; stepId: string }) {
  const first = await tx.findOne(Delivery, { ...key, kind: 'first' });
  return first !== null && SENT_STATUSES.includes(first.status);
}
/** Ledger statuses of an email the provider accepted and did not bounce back. */
const SENT_STATUSES: readonly string[] = ['sent', 'delivered'];

/**
 * The send of the plan's last step also completes the enrollment, in its own transaction,
 * when the plan the workflow followed is still the live one (a publish since may have added
 * steps) and no active tag has to come off the contact: that needs the contact's row for
 * writing, which sends only hold for sharing, so `finishEnrollment` does it (E11).
 */
function completesEnrollment(input: SendStepInput, sequence: Sequence): boolean {
  return (
    input.kind === 'first' &&
    input.lastOfVersion !== undefined &&
    input.lastOfVersion === sequence.liveVersion &&
    !sequence.activeTag
  );
}

/** A retry that finds the step done reports what happened to it the first time. */
function finishedResult(row: Delivery, enrollment: Enrollment | null, input: SendStepInput): SendStepResult {
  if (row.status === 'failed') {
    return {
      outcome: 'failed',
      reason: row.failureKind ?? 'failed',
      endsEnrollment: row.failureKind === 'invalid_recipient',
    };
  }
  return {
    outcome: 'sent',
    deliveryId: row.id,
    providerMessageId: row.providerMessageId ?? null,
    alreadySent: true,
    // The first attempt committed the ending with the row (a worker died before reporting it).
    completedEnrollment:
      input.lastOfVersion !== undefined &&
      enrollment?.generation === input.generation &&
      enrollment.status === 'completed',
  };
}

interface JournalEntry {
  id: string;
  enrollment: string;
  generation: number;
  stepId: string;
  kind: 'first' | 'resend';
  base: ReturnType<typeof eventBase>;
  idempotencyKey: string;
  email: OutgoingEmail;
  scheduledAt: Date;
  status: 'sending' | 'failed';
  failure?: { kind: DeliveryFailure; reason: string };
}

/**
 * Commits the ledger row at once, on its own connection, while `tx` keeps the locks: it must
 * survive a crash during the provider call. A failed row has nothing to survive for, so it
 * simply joins `tx`.
 */
async function journal(deps: ActivityDeps, tx: EntityManager, entry: JournalEntry): Promise<void> {
  const now = deps.clock();
  const row = {
    id: entry.id,
    workspace: entry.base.workspace,
    enrollment: entry.enrollment,
    sequence: entry.base.sequence,
    contact: entry.base.contact,
    generation: entry.generation,
    stepId: entry.stepId,
    kind: entry.kind,
    status: entry.status,
    idempotencyKey: entry.idempotencyKey,
    provider: deps.email.provider,
    ...requestColumns(entry.email),
    error: entry.failure?.reason ?? null,
    failureKind: entry.failure?.kind ?? null,
    scheduledAt: entry.scheduledAt,
    createdAt: now,
    updatedAt: now,
  };
  if (entry.status === 'failed') await tx.insert(Delivery, row);
  else await deps.orm.em.fork().insert(Delivery, row);
}

/** A prepared row's request rendered afresh, committed at once like the journal (D1). */
async function journalAgain(deps: ActivityDeps, id: string, email: OutgoingEmail): Promise<void> {
  await deps.orm.em
    .fork()
    .nativeUpdate(Delivery, { id, status: 'sending' }, { ...requestColumns(email), updatedAt: deps.clock() });
}

/** The ledger's copy of the request, from which an unfinished attempt is sent again. */
function requestColumns(email: OutgoingEmail) {
  return {
    fromEmail: email.from,
    toEmail: email.to,
    headers: email.headers ?? null,
    subject: email.subject,
    html: email.html,
    text: email.text ?? null,
  };
}

/** The request an unfinished row recorded, to send it again byte for byte. */
function storedEmail(row: Delivery, deps: ActivityDeps): OutgoingEmail {
  return {
    from: row.fromEmail ?? deps.config.from,
    to: row.toEmail,
    subject: row.subject ?? '',
    html: row.html ?? '',
    ...(row.text ? { text: row.text } : {}),
    ...(row.headers ? { headers: row.headers } : {}),
    tags: [{ name: DELIVERY_TAG, value: row.id }],
  };
}

async function failDelivery(
  tx: EntityManager,
  deliveryId: string,
  failureKind: DeliveryFailure,
  reason: string,
): Promise<void> {
  await tx.nativeUpdate(Delivery, { id: deliveryId }, { status: 'failed', failureKind, error: reason });
}

function unsubscribeSecret(deps: ActivityDeps): string {
  return deps.config.unsubscribeSecret ?? DEVELOPMENT_UNSUBSCRIBE_SECRET;
}

function eventBase(enrollment: Enrollment) {
  return {
    workspace: enrollment.workspace,
    sequence: enrollment.sequence,
    contact: enrollment.contact,
    enrollment: enrollment.id,
  };
}

async function liveStep(
  em: EntityManager,
  sequenceId: string,
  version: number,
  stepId: string,
): Promise<StepDefinition | null> {
  const key = `${sequenceId}/${version}`;
  let steps = publishedSteps.get(key);
  if (!steps) {
    const live = await em.findOne(SequenceVersion, { sequence: sequenceId, version });
    if (!live) return null;
    steps = live.steps;
    if (publishedSteps.size >= PUBLISHED_STEPS_MAX)
      publishedSteps.delete(publishedSteps.keys().next().value!);
    publishedSteps.set(key, steps);
  }
  return steps.find((step) => step.id === stepId) ?? null;
}
// A published version never changes, so its steps are read once per worker, not once per send.
const publishedSteps = new Map<string, StepDefinition[]>();
const PUBLISHED_STEPS_MAX = 500;

/** A first send moves the enrollment on (the database mirrors where to); a resend (E9) does not. */
function mirrorNextStep(enrollment: Enrollment, input: SendStepInput): void {
  if (input.kind === 'resend') return;
  Object.assign(enrollment, mirrorColumns(input.next));
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
