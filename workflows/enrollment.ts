/**
 * One contact's pass through one sequence (DESIGN §4). The workflow owns progress: which
 * step is next, when it is due, whether it is held. It sleeps until a step is due, asks the
 * send activity to deliver it (which re-checks everything, D2), and mirrors its state into
 * search attributes and the database so people can find it.
 */
import {
  condition,
  makeContinueAsNewFunc,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { NextStepMirror, SendStepResult } from '../activities/types.js';
import { proxyActivitiesWithSummaries, proxyLocalActivitiesWithSummaries } from './activity-summaries.js';
import { sendTaskQueue } from './ids.js';
import {
  cancelSignal,
  pauseSignal,
  resendStepSignal,
  resumeSignal,
  sequenceChangedSignal,
  skipStepSignal,
  stateQuery,
} from './messages.js';
import type { HoldSource, PauseRequest } from './messages.js';
import { isExpired, nextStepDue, type EnrollmentPlan, type PlannedStep } from './plan.js';
import {
  CurrentStepAttribute,
  EnrollmentStatusAttribute,
  NextSendTimeAttribute,
} from './search-attributes.js';
import { describeInstant, nextSendTime } from './send-window.js';
import {
  ALL_STEPS_DONE,
  startProgress,
  statusOf,
  type EnrollmentInput,
  type EnrollmentOutcome,
  type EnrollmentProgress,
  type EnrollmentResult,
  type EnrollmentSnapshot,
} from './state.js';

type Activities = ReturnType<typeof createActivities>;

// Bookkeeping activities: quick database writes, retried until the database is back.
const bookkeepingOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;
const bookkeeping = proxyActivitiesWithSummaries<Activities>(bookkeepingOptions);

// loadPlan as a local activity: it runs inside the workflow task that asked for it, so an
// enrollment's start is one workflow task and one marker event, not an activity task and a
// second workflow task: a shorter history to replay on every later wake-up when the worker's
// cache no longer holds the workflow (9 events before the first timer, was 12; 7 once the
// patch, which adds its own marker and `TemporalChangeVersion` upsert, is retired). Same retries.
const PLAN_AS_LOCAL_ACTIVITY = 'load-plan-as-local-activity';
const localBookkeeping = proxyLocalActivitiesWithSummaries<Activities>(bookkeepingOptions);

// The send: transient provider errors retry with backoff for as long as it takes (D4);
// permanent ones come back as a `failed` result, never as a retry. It runs on the send task
// queue, whose rate limit is the provider's (D5); the heartbeat timeout lets a send that a
// crashed worker held be retried within seconds (the ledger makes the retry safe, D1).
const delivery = () =>
  proxyActivitiesWithSummaries<Activities>({
    taskQueue: sendTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });

/** The step the enrollment waits for and when it goes. */
interface PendingStep {
  step: PlannedStep;
  index: number;
  dueAtMs: number;
  sendAtMs: number;
}

export async function enrollmentWorkflow(input: EnrollmentInput): Promise<EnrollmentResult> {
  const { enrollmentId, generation } = input;
  const ref = { enrollmentId, generation };
  const progress: EnrollmentProgress = input.carried ?? startProgress(Date.now());
  let plan: EnrollmentPlan | null = null;
  let planIsStale = false;
  let pending: PendingStep | null = null;
  let mirroredKey = '';
  let publishedKey = '';
  /** The last step's send wrote the ending itself: `finishEnrollment` has nothing left to do. */
  let endingRecorded = false;

  const isHeld = () => progress.heldBy.length > 0;
  const isEnding = () => progress.ending !== null;
  /** Operator requests (E9) that must interrupt a wait for `step`. */
  const hasOperatorWork = (step: PlannedStep) =>
    progress.resendQueue.length > 0 || progress.skipRequested === step.id;

  setHandler(pauseSignal, (request) => {
    if (!isStaleSequenceChange(progress, request)) hold(progress, request.source);
  });
  setHandler(resumeSignal, (request) => {
    if (!isStaleSequenceChange(progress, request)) release(progress, request.source);
  });
  setHandler(cancelSignal, ({ reason, outcome }) => end(progress, outcome ?? 'cancelled', reason));
  setHandler(sequenceChangedSignal, () => {
    planIsStale = true;
  });
  setHandler(skipStepSignal, ({ stepId }) => {
    // Only the step the enrollment waits for can be skipped; a request that lost a race
    // with the step's send (or an edit) is dropped.
    if (!isEnding() && pending?.step.id === stepId && !progress.doneStepIds.includes(stepId)) {
      progress.skipRequested = stepId;
    }
  });
  setHandler(resendStepSignal, ({ stepId }) => {
    if (isEnding() || !progress.sentStepIds.includes(stepId)) return;
    if (progress.resentStepIds.includes(stepId) || progress.resendQueue.includes(stepId)) return;
    progress.resendQueue.push(stepId);
  });
  setHandler(stateQuery, (): EnrollmentSnapshot => snapshot(input, progress, pending, plan));

  plan = await loadPlan();

  while (plan && !isEnding()) {
    if (shouldContinueAsNew(input)) {
      // Everything the next run needs is in `progress`; search attributes and memo go along.
      const { typedSearchAttributes, memo } = workflowInfo();
      await makeContinueAsNewFunc<typeof enrollmentWorkflow>({ typedSearchAttributes, memo: memo ?? {} })({
        ...input,
        carried: progress,
      });
    }
    if (planIsStale) {
      planIsStale = false;
      plan = await loadPlan();
      continue;
    }
    if (progress.resendQueue.length > 0 && !isHeld()) {
      await resendNext(plan);
      continue;
    }

    // The same computation as loadPlan's mirror of it (so the mirror keys match).
    const due = nextStepDue(plan.steps, progress);
    if (!due) {
      end(progress, ALL_STEPS_DONE.outcome, ALL_STEPS_DONE.reason);
      break;
    }
    const { index, dueAtMs } = due;
    const step = plan.steps[index]!;
    // T1/S4: due times never move; a step that is already due goes at the next valid send time.
    const sendAtMs = nextSendTime(Math.max(dueAtMs, Date.now()), plan.sendWindow, plan.timeZone);
    pending = { step, index, dueAtMs, sendAtMs };
    show(plan, pending);
    const unmirrored = stepToMirror(pending);
    if (unmirrored) await bookkeeping.recordProgress({ ...ref, next: unmirrored });

    if (progress.skipRequested === step.id) {
      await skipPending(plan, step, 'skipped');
      continue;
    }
    if (isHeld()) {
      // E8/S3: the pending step is held — not sent, not skipped, not lost — until resumed. A
      // pause that arrived while the mirror was being recorded must still reach the UI.
      show(plan, pending);
      await condition(() => !isHeld() || isEnding() || planIsStale || progress.skipRequested === step.id);
      continue;
    }
    const waitMs = sendAtMs - Date.now();
    if (waitMs > 0) {
      const interrupted = await condition(
        () => isHeld() || isEnding() || planIsStale || hasOperatorWork(step),
        waitMs,
        { summary: `step ${index + 1} '${step.name}' due` },
      );
      if (interrupted) continue;
    }

    if (isExpired(step, dueAtMs, Date.now())) {
      // S4: a step whose end date passed (typically during a pause) is skipped and recorded.
      await skipPending(plan, step, 'expired');
      continue;
    }

    const resumesBefore = progress.resumeCount;
    const next = followingStep(plan, progress, step, sendAtMs);
    const result: SendStepResult = await delivery().sendStep.executeWithOptions(
      { summary: `send step ${index + 1} '${step.name}'` },
      [
        {
          ...ref,
          stepId: step.id,
          kind: 'first',
          scheduledAtMs: sendAtMs,
          next,
          // The last step: its send may complete the enrollment too (one activity fewer).
          ...(next === null ? { lastOfVersion: plan.version } : {}),
        },
      ],
    );
    switch (result.outcome) {
      case 'sent':
        markDone(progress, step, sendAtMs);
        progress.sentStepIds.push(step.id);
        mirroredKey = mirrorKey(next);
        if (result.completedEnrollment) {
          // What the send committed is the ending, even if a stop arrived meanwhile.
          progress.ending = { ...ALL_STEPS_DONE };
          endingRecorded = true;
        }
        break;
      case 'held':
        holdAfterRefusal(progress, result, resumesBefore);
        break;
      case 'step_removed':
        planIsStale = true;
        break;
      case 'ended':
        end(progress, result.status, result.reason);
        break;
      case 'failed':
        // D4: a permanent refusal is recorded on the delivery; see README "Behaviour".
        if (result.endsEnrollment) end(progress, 'failed', result.reason);
        else markDone(progress, step, Date.now());
        break;
    }
  }

  const ending = progress.ending ?? ALL_STEPS_DONE;
  pending = null;
  show(plan, null);
  if (!endingRecorded) {
    await bookkeeping.finishEnrollment({ ...ref, status: ending.outcome, reason: ending.reason });
  }
  return { status: ending.outcome, reason: ending.reason, doneStepIds: progress.doneStepIds };

  async function loadPlan(): Promise<EnrollmentPlan | null> {
    const { anchorMs, doneStepIds } = progress;
    // Histories from before the change ran it as a regular activity, and replay as they ran.
    const activities = patched(PLAN_AS_LOCAL_ACTIVITY) ? localBookkeeping : bookkeeping;
    const loaded = await activities.loadPlan({ ...ref, progress: { anchorMs, doneStepIds } });
    if (loaded.kind === 'ended') {
      end(progress, loaded.outcome, loaded.reason);
      return null;
    }
    // The activity mirrored the step this plan makes next, so the loop need not. (A worker older
    // than the mirror in loadPlan returns none: the loop records it, as in histories from then.)
    if (loaded.mirrored !== undefined) mirroredKey = mirrorKey(loaded.mirrored);
    return loaded.plan;
  }

  /** S4 (expired) and E9 (skipped): the step is recorded as skipped; the next one counts from now. */
  async function skipPending(
    currentPlan: EnrollmentPlan,
    step: PlannedStep,
    reason: 'expired' | 'skipped',
  ): Promise<void> {
    const now = Date.now();
    const next = followingStep(currentPlan, progress, step, now);
    await bookkeeping.skipStep({ ...ref, stepId: step.id, reason, next });
    markDone(progress, step, now);
    if (progress.skipRequested === step.id) progress.skipRequested = null;
    mirroredKey = mirrorKey(next);
  }

  /** E9: sends the oldest requested resend now, through the same guarded send (D1, D2, D5). */
  async function resendNext(currentPlan: EnrollmentPlan): Promise<void> {
    const stepId = progress.resendQueue.shift()!;
    const index = currentPlan.steps.findIndex((candidate) => candidate.id === stepId);
    const step = currentPlan.steps[index];
    if (!step) return; // removed from the live version since (S5): nothing left to resend
    const resumesBefore = progress.resumeCount;
    const result: SendStepResult = await delivery().sendStep.executeWithOptions(
      { summary: `resend step ${index + 1} '${step.name}'` },
      [{ ...ref, stepId, kind: 'resend', scheduledAtMs: Date.now(), next: null }],
    );
    switch (result.outcome) {
      case 'held':
        progress.resendQueue.unshift(stepId); // goes once the pause is lifted
        holdAfterRefusal(progress, result, resumesBefore);
        break;
      case 'ended':
        end(progress, result.status, result.reason);
        break;
      case 'sent':
      case 'failed':
        // The ledger's resend row for this step exists now, whatever became of it.
        progress.resentStepIds.push(stepId);
        break;
      case 'step_removed':
        break;
    }
  }

  /**
   * Keeps the UI current: search attributes and current details. Synchronous on purpose: it
   * runs on every turn of the loop, and the SDK records a stack trace for every promise a
   * workflow creates, on every replay (bench/RESULTS.md, due burst).
   */
  function show(currentPlan: EnrollmentPlan | null, current: PendingStep | null): void {
    const status = statusOf(progress);
    const publishKey = `${status}|${current?.index ?? ''}|${current?.sendAtMs ?? ''}`;
    if (publishKey !== publishedKey) {
      publishedKey = publishKey;
      upsertSearchAttributes([
        { key: EnrollmentStatusAttribute, value: status },
        { key: CurrentStepAttribute, value: current ? current.index + 1 : null },
        {
          key: NextSendTimeAttribute,
          value: current && status === 'active' ? new Date(current.sendAtMs) : null,
        },
      ]);
    }
    setCurrentDetails(describe(progress, currentPlan, current));
  }

  /**
   * The step the database should show as next, when its mirror does not show it yet (the
   * caller records it); null when nothing is to be written. The mirror's active/paused status
   * is written by the API alone, so a late mirror can never undo a pause or a resume.
   */
  function stepToMirror(current: PendingStep): NextStepMirror | null {
    if (isEnding()) return null;
    const next = { stepId: current.step.id, index: current.index, dueAtMs: current.dueAtMs };
    const key = mirrorKey(next);
    if (key === mirroredKey) return null;
    mirroredKey = key;
    return next;
  }
}

/** DESIGN §4: long runs continue as new when Temporal suggests it (or, in tests, sooner). */
function shouldContinueAsNew(input: EnrollmentInput): boolean {
  const { continueAsNewSuggested, historyLength } = workflowInfo();
  const limit = input.continueAsNewAfterEvents;
  return continueAsNewSuggested || (limit !== undefined && historyLength >= limit);
}

/**
 * Sequence pauses and resumes reach enrollments through fan-outs that may overlap (pause,
 * then resume at once): each carries the sequence's revision, and an older one than the
 * newest applied is stale. Enrollment pauses (E8) come one at a time from the API.
 */
function isStaleSequenceChange(progress: EnrollmentProgress, request: PauseRequest): boolean {
  if (request.source !== 'sequence' || request.revision === undefined) return false;
  if (request.revision < progress.sequenceRevision) return true;
  progress.sequenceRevision = request.revision;
  return false;
}

/** The send guard found a pause in force (D2): hold, unless a resume overtook the refusal. */
function holdAfterRefusal(
  progress: EnrollmentProgress,
  refusal: Extract<SendStepResult, { outcome: 'held' }>,
  resumesBefore: number,
): void {
  if (refusal.source === 'sequence') {
    if (!isStaleSequenceChange(progress, { source: 'sequence', revision: refusal.revision })) {
      hold(progress, 'sequence');
    }
  } else if (progress.resumeCount === resumesBefore) {
    hold(progress, 'enrollment');
  }
}

function hold(progress: EnrollmentProgress, source: HoldSource): void {
  if (progress.ending || progress.heldBy.includes(source)) return;
  if (progress.heldBy.length === 0) progress.pausedAtMs = Date.now();
  progress.heldBy.push(source);
}

function release(progress: EnrollmentProgress, source: HoldSource): void {
  progress.resumeCount += 1;
  progress.heldBy = progress.heldBy.filter((held) => held !== source);
  if (progress.heldBy.length === 0) progress.pausedAtMs = null;
}

function end(progress: EnrollmentProgress, outcome: EnrollmentOutcome, reason: string): void {
  progress.ending ??= { outcome, reason };
}

function markDone(progress: EnrollmentProgress, step: PlannedStep, atMs: number): void {
  progress.doneStepIds.push(step.id);
  progress.anchorMs = atMs;
}

/** The step after `step` once it is done at `doneAtMs`, for the database mirror. */
function followingStep(
  plan: EnrollmentPlan,
  progress: EnrollmentProgress,
  step: PlannedStep,
  doneAtMs: number,
): NextStepMirror | null {
  return nextStepDue(plan.steps, { anchorMs: doneAtMs, doneStepIds: [...progress.doneStepIds, step.id] });
}

function mirrorKey(next: NextStepMirror | null): string {
  return `${next?.stepId ?? ''}|${next?.dueAtMs ?? ''}`;
}

function describe(
  progress: EnrollmentProgress,
  plan: EnrollmentPlan | null,
  current: PendingStep | null,
): string {
  if (progress.ending) return `${progress.ending.outcome} (${progress.ending.reason})`;
  if (!plan || !current) return 'starting';
  const step = `step ${current.index + 1} '${current.step.name}'`;
  if (progress.pausedAtMs !== null) {
    return `paused since ${describeInstant(progress.pausedAtMs, plan.timeZone)} (${progress.heldBy.map((source) => `${source} paused`).join(', ')}); holding ${step}`;
  }
  return `waiting for ${step}, due ${describeInstant(current.sendAtMs, plan.timeZone)}`;
}

function snapshot(
  input: EnrollmentInput,
  progress: EnrollmentProgress,
  pending: PendingStep | null,
  plan: EnrollmentPlan | null,
): EnrollmentSnapshot {
  return {
    enrollmentId: input.enrollmentId,
    generation: input.generation,
    status: statusOf(progress),
    heldBy: progress.ending ? [] : [...progress.heldBy], // nothing is held once it has ended
    pausedAt: progress.pausedAtMs === null ? null : new Date(progress.pausedAtMs).toISOString(),
    doneStepIds: [...progress.doneStepIds],
    sentStepIds: [...progress.sentStepIds],
    resentStepIds: [...progress.resentStepIds],
    pendingResends: [...progress.resendQueue],
    pendingSkip: progress.skipRequested,
    planVersion: plan?.version ?? null,
    nextStep:
      pending && !progress.ending
        ? {
            id: pending.step.id,
            name: pending.step.name,
            index: pending.index,
            dueAt: new Date(pending.dueAtMs).toISOString(),
            sendAt: new Date(pending.sendAtMs).toISOString(),
          }
        : null,
    endReason: progress.ending?.reason ?? null,
  };
}
