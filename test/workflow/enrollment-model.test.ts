/**
 * Model-based test (issue 3): fast-check generates sequences, send windows, time zones and
 * timed operations (pause, resume, cancel, edit, sequence pause/resume, skip, resend, time
 * passing); each case is driven through the real API services, the real enrollment workflow
 * and its activities on the time-skipping server, then compared with the pure reference
 * model (test/model/enrollment-model.ts): which operations the API accepted, the state after
 * each, and every delivery (step, kind, subject, skip reason, and time within a minute).
 * A failure prints the shrunk counterexample and the seed to replay it (MODEL_SEED).
 */
import { useWorld } from '../support/use-world.js';

import fc from 'fast-check';
import type { ServiceContext } from '../../api/context.js';
import { ProblemError } from '../../api/errors.js';
import { resendStep, skipStep } from '../../api/services/enrollment-steps.js';
import {
  cancelEnrollment,
  enrollContact,
  pauseEnrollment,
  resumeEnrollment,
} from '../../api/services/enrollments.js';
import { pauseSequence, resumeSequence, updateSequence } from '../../api/services/sequence-changes.js';
import { createSequence, publishSequence } from '../../api/services/sequences.js';
import type { StepInput } from '../../api/schemas/sequences.js';
import { Delivery } from '../../db/entities/index.js';
import { stateQuery } from '../../workflows/messages.js';
import type { EnrollmentSnapshot } from '../../workflows/state.js';
import { caseArbitrary, opTimes, type GeneratedCase } from '../model/arbitraries.js';
import {
  runModel,
  type ModelCase,
  type ModelDelivery,
  type ModelOp,
  type ModelSnapshot,
  type ModelStep,
} from '../model/enrollment-model.js';
import type { ModelWindow } from '../model/window-oracle.js';

import { eventually } from '../support/wait.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 100);
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
/** Real time passes between the model's instants and the system's (queries, commits): a minute covers it. */
const TOLERANCE_MS = 60 * 1000;

const t = useWorld();

const ctx = (): ServiceContext => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });

async function sleepUntil(instantMs: number): Promise<void> {
  const now = await t.env.currentTimeMs();
  if (instantMs > now) await t.env.sleep(instantMs - now);
}

const hhmm = (hour: number) => `${String(hour).padStart(2, '0')}:00`;
const isoDuration = (ms: number) => `PT${ms / 60_000}M`;

function stepInputs(steps: ModelStep[]): StepInput[] {
  return steps.map((step) => ({
    id: step.id,
    name: step.id.toUpperCase(),
    delay: isoDuration(step.delayMs),
    expiresAfter: step.expiresAfterMs === null ? null : isoDuration(step.expiresAfterMs),
    subject: step.subject,
    html: '<p>model</p>',
  }));
}

const sendWindow = (window: ModelWindow | null) =>
  window && {
    days: window.days as (1 | 2 | 3 | 4 | 5 | 6 | 7)[],
    start: hhmm(window.startHour),
    end: hhmm(window.endHour),
  };

/** The model's case for a generated one, pinned to `startMs`, running until nothing is left to happen. */
function pin(generated: GeneratedCase, startMs: number): ModelCase {
  const times = opTimes(startMs, generated.ops);
  const base: ModelCase = {
    startMs,
    steps: generated.steps,
    window: generated.window,
    zone: generated.contactZone ?? generated.sequenceZone,
    ops: generated.ops.map(({ op }, index) => ({ atMs: times[index]!, op })),
    endMs: (times.at(-1) ?? startMs) + 120 * DAY,
  };
  // Run only as long as something still happens, so the server's clock stays near the present.
  const last = Math.max(
    base.ops.at(-1)?.atMs ?? startMs,
    ...runModel(base).deliveries.map((d) => d.atMs ?? 0),
  );
  return { ...base, endMs: last + HOUR };
}

/** Carries out one operation through the API's services; false when the API refused it (409). */
async function perform(op: ModelOp, stepId: string | null, ids: { enrollment: string; sequence: string }) {
  const run = async (): Promise<unknown> => {
    switch (op.kind) {
      case 'pause':
        return pauseEnrollment(ctx(), ids.enrollment);
      case 'resume':
        return resumeEnrollment(ctx(), ids.enrollment);
      case 'cancel':
        return cancelEnrollment(ctx(), ids.enrollment);
      case 'sequencePause':
        return pauseSequence(ctx(), ids.sequence);
      case 'sequenceResume':
        return resumeSequence(ctx(), ids.sequence);
      case 'edit':
        await updateSequence(ctx(), ids.sequence, { steps: stepInputs(op.steps) });
        return publishSequence(ctx(), ids.sequence);
      case 'skip':
        return skipStep(ctx(), ids.enrollment, stepId!);
      case 'resend':
        return resendStep(ctx(), ids.enrollment, stepId!);
    }
  };
  try {
    await run();
    return true;
  } catch (error) {
    if (error instanceof ProblemError && error.status === 409) return false;
    throw error;
  }
}

interface Expected extends ModelSnapshot {
  /** The live version the enrollment must follow (while it runs). */
  planVersion?: number;
}

/** Waits until the workflow shows the model's state; the last state seen explains a timeout. */
async function settle(read: () => Promise<EnrollmentSnapshot>, expected: Expected, what: string) {
  let seen: EnrollmentSnapshot | null = null;
  const matches = (state: EnrollmentSnapshot) =>
    state.status === expected.status &&
    JSON.stringify(state.doneStepIds) === JSON.stringify(expected.doneStepIds) &&
    (expected.planVersion === undefined || state.planVersion === expected.planVersion) &&
    JSON.stringify([...state.heldBy].sort()) === JSON.stringify([...expected.heldBy].sort());
  await eventually(
    async () => {
      seen = await read();
      return matches(seen);
    },
    {
      timeoutMs: 15_000,
      intervalMs: 20,
      what,
      detail: () => `expected ${JSON.stringify(expected)}\nseen ${JSON.stringify(seen)}`,
    },
  );
}

async function runCase(generated: GeneratedCase): Promise<void> {
  const startMs = Math.ceil((await t.env.currentTimeMs()) / HOUR) * HOUR + generated.startDelayHours * HOUR;
  const model = pin(generated, startMs);
  const expected = runModel(model);

  const contact = await t.world.contact(generated.contactZone ? { timeZone: generated.contactZone } : {});
  const created = await createSequence(ctx(), {
    name: 'Model',
    steps: stepInputs(generated.steps),
    sendWindow: sendWindow(generated.window),
    timeZone: generated.sequenceZone,
  });
  await publishSequence(ctx(), created.id);
  await sleepUntil(startMs);
  const enrolled = await enrollContact(ctx(), created.id, contact.id);
  if (enrolled.kind !== 'enrolled') throw new Error(`not enrolled: ${enrolled.kind}`);
  const ids = { enrollment: enrolled.enrollment.id, sequence: created.id };
  const handle = t.env.client.workflow.getHandle(enrolled.enrollment.workflowId);
  const read = () => handle.query(stateQuery);

  let version = 1;
  for (const [index, { atMs, op }] of model.ops.entries()) {
    await sleepUntil(atMs);
    const want = expected.ops[index]!;
    const accepted = await perform(op, want.stepId, ids);
    const label = `operation ${index + 1} (${op.kind}${want.stepId ? ` ${want.stepId}` : ''})`;
    if (accepted !== want.accepted) {
      throw new Error(
        `${label}: the API ${accepted ? 'accepted' : 'refused'} it; the model says the opposite`,
      );
    }
    if (op.kind === 'edit') version += 1;
    const live = want.after.status === 'active' || want.after.status === 'paused';
    await settle(read, live ? { ...want.after, planVersion: version } : want.after, label);
  }
  await sleepUntil(model.endMs);
  await settle(read, expected.final, 'the final state');
  compareDeliveries(await ledger(ids.enrollment), expected.deliveries);

  if (expected.final.status === 'active' || expected.final.status === 'paused') {
    await cancelEnrollment(ctx(), ids.enrollment);
  }
}

async function ledger(enrollmentId: string): Promise<ModelDelivery[]> {
  const rows = await t.world.db.orm.em
    .fork()
    .find(Delivery, { enrollment: enrollmentId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  return rows.map((row) => ({
    stepId: row.stepId,
    kind: row.kind,
    status: row.status === 'skipped' ? 'skipped' : 'sent',
    atMs: row.status === 'skipped' ? null : (row.scheduledAt?.getTime() ?? null),
    subject: row.status === 'skipped' ? null : (row.subject ?? null),
    reason: row.status === 'skipped' ? (row.error ?? null) : null,
  }));
}

function compareDeliveries(actual: ModelDelivery[], expected: ModelDelivery[]): void {
  const show = (list: ModelDelivery[]) =>
    list
      .map(
        (d) =>
          `${d.kind} ${d.stepId} ${d.status}${d.reason ? ` (${d.reason})` : ''} ${d.subject ?? ''} ${d.atMs === null ? '' : new Date(d.atMs).toISOString()}`,
      )
      .join('\n  ');
  const same =
    actual.length === expected.length &&
    actual.every((a, i) => {
      const e = expected[i]!;
      const closeInTime =
        a.atMs === null || e.atMs === null ? a.atMs === e.atMs : Math.abs(a.atMs - e.atMs) <= TOLERANCE_MS;
      return (
        a.stepId === e.stepId &&
        a.kind === e.kind &&
        a.status === e.status &&
        a.reason === e.reason &&
        a.subject === e.subject &&
        closeInTime
      );
    });
  if (!same) throw new Error(`deliveries differ\nexpected:\n  ${show(expected)}\nactual:\n  ${show(actual)}`);
}

test(
  `S3, S4, S5, E1, E4, E8, E9, T1, T2: the enrollment workflow behaves as the reference model over ${RUNS} generated cases`,
  async () => {
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (generated) => {
        await runCase(generated);
      }),
      {
        numRuns: RUNS,
        ...(process.env.MODEL_SEED ? { seed: Number(process.env.MODEL_SEED) } : {}),
        // Each run drives real processes; shrinking a failure still ends within the test's time.
        interruptAfterTimeLimit: 25 * 60 * 1000,
        markInterruptAsFailure: true,
      },
    );
  },
  30 * 60 * 1000,
);
