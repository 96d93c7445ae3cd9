/** Loads what an enrollment's workflow needs to plan its steps (timing, window, zone). */
import { Contact, Enrollment, Sequence, SequenceVersion } from '../db/entities/index.js';
import { awaitEnrollmentStart } from '../db/enrollment-start-lock.js';
import { nextStepDue, toPlannedStep, type EnrollmentPlan } from '../workflows/plan.js';
import { resolveTimeZone } from '../workflows/send-window.js';
import type { ActivityDeps } from './deps.js';
import { writeProgressMirror } from './progress-mirror.js';
import type { LoadPlanInput, LoadPlanResult } from './types.js';

export function createLoadPlan(deps: ActivityDeps) {
  return async function loadPlan(input: LoadPlanInput): Promise<LoadPlanResult> {
    const em = deps.orm.em.fork();
    // The API may still be committing the row this workflow was started for (see the lock's doc).
    await awaitEnrollmentStart(em, input.enrollmentId);
    const enrollment = await em.findOne(Enrollment, input.enrollmentId);
    if (!enrollment || enrollment.generation !== input.generation) {
      return { kind: 'ended', outcome: 'cancelled', reason: 'record_missing' };
    }
    if (!['active', 'paused'].includes(enrollment.status)) {
      const outcome =
        enrollment.status === 'active' || enrollment.status === 'paused' ? 'cancelled' : enrollment.status;
      return { kind: 'ended', outcome, reason: enrollment.endReason ?? enrollment.status };
    }
    const [sequence, contact] = await Promise.all([
      em.findOne(Sequence, enrollment.sequence),
      em.findOne(Contact, enrollment.contact),
    ]);
    if (!sequence || sequence.status === 'deleted') {
      return { kind: 'ended', outcome: 'cancelled', reason: 'sequence_deleted' };
    }
    if (!contact) return { kind: 'ended', outcome: 'cancelled', reason: 'record_missing' };
    if (contact.suppression)
      return { kind: 'ended', outcome: 'cancelled', reason: `contact_${contact.suppression}` };
    const version = sequence.liveVersion
      ? await em.findOne(SequenceVersion, { sequence: sequence.id, version: sequence.liveVersion })
      : null;
    if (!version) return { kind: 'ended', outcome: 'failed', reason: 'sequence_not_published' };
    const plan: EnrollmentPlan = {
      sequenceName: sequence.name,
      sequenceStatus: sequence.status,
      version: version.version,
      steps: version.steps.map(toPlannedStep),
      sendWindow: sequence.sendWindow ?? null,
      timeZone: resolveTimeZone(contact.timeZone, sequence.timeZone),
      contactEmail: contact.email,
    };
    if (!input.progress) return { kind: 'plan', plan };
    // No step left to wait for: the workflow ends, and its ending clears the mirror.
    const mirrored = nextStepDue(plan.steps, input.progress);
    if (mirrored) await writeProgressMirror(em, input, mirrored);
    return { kind: 'plan', plan, mirrored };
  };
}
