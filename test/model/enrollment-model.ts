/**
 * The reference model of one enrollment (issue 3): the behaviour rules of DESIGN.md §3 restated
 * as a pure function, written apart from the workflow so that each can catch the other out.
 * Given a sequence's steps, its send window, the contact's time zone and a timed list of
 * operations, it says which steps are sent, skipped or resent, when, with which subject, and
 * which operations the API accepts.
 *
 * The rules, in the model's words:
 * - E1/T1: step 1 is due at enrollment; each next step is due its delay after the previous one
 *   went (or was skipped). A step goes at the first instant at or after its due time inside the
 *   send window (contact's zone).
 * - E8/S3/S4: while the enrollment or its sequence is paused, nothing goes. On resume, due
 *   times have not moved: a step already due goes at the first valid send time from the resume.
 * - S4: a step that can only go after its end date (due + expiresAfter) is skipped (`expired`).
 * - S5: an edit takes effect at once: the contact continues after the last step it was sent (or
 *   skipped), in the new order, by step id, passing over steps it already had; the pending wait
 *   is recomputed from the new delays; each email carries the copy live when it goes.
 * - E4: cancel ends it; nothing more goes.
 * - E9: skip marks the pending step skipped now, the next step's delay counting from now;
 *   resend sends a sent step again at once (outside the window too), at most once per step,
 *   or once the pause is lifted.
 */
import { earliestSendTime, type ModelWindow } from './window-oracle.js';

export interface ModelStep {
  id: string;
  delayMs: number;
  expiresAfterMs: number | null;
  subject: string;
}

export type ModelOp =
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'cancel' }
  | { kind: 'sequencePause' }
  | { kind: 'sequenceResume' }
  | { kind: 'edit'; steps: ModelStep[] }
  | { kind: 'skip' }
  /** Resends the `pick`-th sent step (modulo how many were sent). */
  | { kind: 'resend'; pick: number };

export interface TimedOp {
  atMs: number;
  op: ModelOp;
}

export interface ModelCase {
  startMs: number;
  steps: ModelStep[];
  window: ModelWindow | null;
  zone: string;
  ops: TimedOp[];
  /** How far time runs after the last operation. */
  endMs: number;
}

export interface ModelDelivery {
  stepId: string;
  kind: 'first' | 'resend';
  status: 'sent' | 'skipped';
  /** When it went (null for a skipped step). */
  atMs: number | null;
  subject: string | null;
  /** For a skipped step: `expired` or `skipped`. */
  reason: string | null;
}

/** What the operation asked of the API, as the driver must send it, and whether the API takes it. */
export interface ModelOpOutcome {
  accepted: boolean;
  /** For skip and resend: the step named in the request. */
  stepId: string | null;
}

export type ModelStatus = 'active' | 'paused' | 'completed' | 'cancelled';

export interface ModelSnapshot {
  status: ModelStatus;
  doneStepIds: string[];
  /** Who holds the pending step: `enrollment` (E8), `sequence` (S3), both or neither. */
  heldBy: ('enrollment' | 'sequence')[];
}

export interface ModelOutcome {
  deliveries: ModelDelivery[];
  ops: (ModelOpOutcome & { after: ModelSnapshot })[];
  final: ModelSnapshot & { nextStepId: string | null };
}

interface State {
  steps: ModelStep[];
  anchorMs: number;
  /** When the enrollment last (re)planned: a step already due goes from here. */
  replanMs: number;
  done: string[];
  sent: string[];
  resent: string[];
  resendQueue: string[];
  enrollmentPaused: boolean;
  sequencePaused: boolean;
  ended: 'completed' | 'cancelled' | null;
  deliveries: ModelDelivery[];
}

export function runModel(model: ModelCase): ModelOutcome {
  const state: State = {
    steps: model.steps,
    anchorMs: model.startMs,
    replanMs: model.startMs,
    done: [],
    sent: [],
    resent: [],
    resendQueue: [],
    enrollmentPaused: false,
    sequencePaused: false,
    ended: null,
    deliveries: [],
  };
  const ops = model.ops.map(({ atMs, op }) => {
    advance(state, model, atMs);
    const outcome = apply(state, op, atMs);
    advance(state, model, atMs);
    return { ...outcome, after: snapshotOf(state) };
  });
  advance(state, model, model.endMs);
  const next = state.ended ? null : nextStep(state.steps, state.done);
  return { deliveries: state.deliveries, ops, final: { ...snapshotOf(state), nextStepId: next?.id ?? null } };
}

const isHeld = (state: State) => state.enrollmentPaused || state.sequencePaused;

function snapshotOf(state: State): ModelSnapshot {
  const status = state.ended ?? (isHeld(state) ? 'paused' : 'active');
  const heldBy = state.ended
    ? []
    : ([state.enrollmentPaused && 'enrollment', state.sequencePaused && 'sequence'].filter(
        Boolean,
      ) as ModelSnapshot['heldBy']);
  return { status, doneStepIds: [...state.done], heldBy };
}

/** S5: after the last done step still present, the first step not done yet. */
export function nextStep(steps: ModelStep[], done: string[]): ModelStep | undefined {
  const lastPresent = [...done].reverse().find((id) => steps.some((step) => step.id === id));
  const from = lastPresent === undefined ? 0 : steps.findIndex((step) => step.id === lastPresent) + 1;
  return steps.slice(from).find((step) => !done.includes(step.id));
}

/** Everything that happens, in order, up to `untilMs`. */
function advance(state: State, model: ModelCase, untilMs: number): void {
  while (!state.ended) {
    if (!isHeld(state) && state.resendQueue.length > 0) {
      resendNow(state, state.resendQueue.shift()!, state.replanMs);
      continue;
    }
    const step = nextStep(state.steps, state.done);
    if (!step) {
      state.ended = 'completed'; // even while paused: there is nothing left to hold
      return;
    }
    if (isHeld(state)) return;
    const dueMs = state.anchorMs + step.delayMs;
    const atMs = earliestSendTime(Math.max(dueMs, state.replanMs), model.window, model.zone);
    if (atMs > untilMs) return;
    state.done.push(step.id);
    state.anchorMs = atMs;
    if (step.expiresAfterMs !== null && atMs > dueMs + step.expiresAfterMs) {
      state.deliveries.push(skipped(step.id, 'expired'));
    } else {
      state.sent.push(step.id);
      state.deliveries.push({
        stepId: step.id,
        kind: 'first',
        status: 'sent',
        atMs,
        subject: step.subject,
        reason: null,
      });
    }
  }
}

function resendNow(state: State, stepId: string, atMs: number): void {
  const step = state.steps.find((candidate) => candidate.id === stepId);
  if (!step) return; // removed from the live version since: nothing to resend
  state.resent.push(stepId);
  state.deliveries.push({
    stepId,
    kind: 'resend',
    status: 'sent',
    atMs,
    subject: step.subject,
    reason: null,
  });
}

const skipped = (stepId: string, reason: string): ModelDelivery => ({
  stepId,
  kind: 'first',
  status: 'skipped',
  atMs: null,
  subject: null,
  reason,
});

function apply(state: State, op: ModelOp, atMs: number): ModelOpOutcome {
  const live = state.ended === null;
  const accepted = (ok: boolean, stepId: string | null = null) => ({ accepted: ok, stepId });
  const replanIfFree = () => {
    if (live && !isHeld(state)) state.replanMs = atMs;
  };
  switch (op.kind) {
    case 'pause':
      if (live) state.enrollmentPaused = true;
      return accepted(live);
    case 'resume':
      if (live && state.enrollmentPaused) {
        state.enrollmentPaused = false;
        replanIfFree();
      }
      return accepted(live);
    case 'cancel':
      if (live) state.ended = 'cancelled';
      return accepted(live || state.ended === 'cancelled');
    case 'sequencePause':
      state.sequencePaused = true;
      return accepted(true);
    case 'sequenceResume':
      if (state.sequencePaused) {
        state.sequencePaused = false;
        replanIfFree();
      }
      return accepted(true);
    case 'edit':
      state.steps = op.steps;
      if (live) state.replanMs = atMs;
      return accepted(true);
    case 'skip': {
      const step = live ? nextStep(state.steps, state.done) : undefined;
      if (!step) return accepted(false, state.steps[0]!.id);
      state.done.push(step.id);
      state.anchorMs = atMs;
      state.replanMs = atMs;
      state.deliveries.push(skipped(step.id, 'skipped'));
      return accepted(true, step.id);
    }
    case 'resend': {
      const stepId = state.sent.length > 0 ? state.sent[op.pick % state.sent.length]! : state.steps[0]!.id;
      const ok = live && state.sent.includes(stepId) && !state.resent.includes(stepId);
      if (ok && !state.resendQueue.includes(stepId)) {
        state.resendQueue.push(stepId);
        if (!isHeld(state)) state.replanMs = atMs;
      }
      return accepted(ok, stepId);
    }
  }
}
