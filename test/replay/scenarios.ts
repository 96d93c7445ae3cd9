/**
 * One real run of each path through Nudge's workflows, for the replay test's committed
 * histories (scripts/record-histories): each scenario drives the real services on the
 * time-skipping server and returns the workflow runs whose histories to keep.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ServiceContext } from '../../api/context.js';
import { resendStep, skipStep } from '../../api/services/enrollment-steps.js';
import {
  cancelEnrollment,
  enrollContact,
  pauseEnrollment,
  resumeEnrollment,
} from '../../api/services/enrollments.js';
import {
  deleteSequence,
  pauseSequence,
  resumeSequence,
  updateSequence,
} from '../../api/services/sequence-changes.js';
import { publishSequence } from '../../api/services/sequences.js';
import type { StepInput } from '../../api/schemas/sequences.js';
import { sequenceFanOutWorkflowId } from '../../workflows/ids.js';
import { startEnrollmentWith } from '../support/manual-start.js';
import { eventually } from '../support/wait.js';
import { threeSteps, type World } from '../support/world.js';

export interface RecordedRun {
  workflowId: string;
  runId?: string;
}

export type Scenario = (world: World, env: TestWorkflowEnvironment) => Promise<RecordedRun[]>;

const ctx = (world: World): ServiceContext => ({ ...world.ctx, em: world.ctx.em.fork() });

async function enroll(world: World, steps?: StepInput[], options: { email?: string } = {}) {
  const sequence = await world.publishedSequence(steps ? { steps } : {});
  const contact = await world.contact(options.email ? { email: options.email } : {});
  const result = await enrollContact(ctx(world), sequence.id, contact.id);
  const run = { workflowId: result.enrollment.workflowId };
  const handle = world.env.client.workflow.getHandle(run.workflowId);
  return { sequence, enrollment: result.enrollment, run, handle };
}

export const scenarios: Record<string, Scenario> = {
  /** E1: three steps at their delays, then completed. */
  async completed(world) {
    const { run, handle } = await enroll(world);
    await handle.result();
    return [run];
  },

  /** E8: a pause holds the pending step across weeks; resume sends it. */
  async 'pause-resume'(world, env) {
    const { run, handle, enrollment } = await enroll(world);
    await env.sleep('1 day');
    await pauseEnrollment(ctx(world), enrollment.id);
    await env.sleep('2 weeks');
    await resumeEnrollment(ctx(world), enrollment.id);
    await handle.result();
    return [run];
  },

  /** S3/S4: a sequence pause and resume reach the enrollment through the fan-out. */
  async 'sequence-pause-resume'(world, env) {
    const { run, handle, sequence } = await enroll(world);
    await env.sleep('1 day');
    const paused = await pauseSequence(ctx(world), sequence.id);
    await env.sleep('1 week');
    await resumeSequence(ctx(world), sequence.id);
    await handle.result();
    return [run, { workflowId: sequenceFanOutWorkflowId(sequence.id, paused.revision) }];
  },

  /** E4: stopped during a wait. */
  async cancelled(world, env) {
    const { run, handle, enrollment } = await enroll(world);
    await env.sleep('1 day');
    await cancelEnrollment(ctx(world), enrollment.id, 'replied');
    await handle.result();
    return [run];
  },

  /** E9: the pending step skipped, then a sent one resent. */
  async 'skip-resend'(world, env) {
    const { run, handle, enrollment } = await enroll(world);
    await env.sleep('1 day');
    await skipStep(ctx(world), enrollment.id, 'follow-up');
    await resendStep(ctx(world), enrollment.id, 'welcome');
    await handle.result();
    return [run];
  },

  /** S5: published again mid-way: new copy, new timing, a new step. */
  async edited(world, env) {
    const { run, handle, sequence } = await enroll(world);
    await env.sleep('1 day');
    const [welcome, followUp, last] = threeSteps();
    await updateSequence(ctx(world), sequence.id, {
      steps: [welcome!, { ...followUp!, delay: 'P1D', subject: 'Edited' }, last!, { ...last!, id: 'extra' }],
    });
    await publishSequence(ctx(world), sequence.id);
    await handle.result();
    return [run];
  },

  /** S4: a step whose end date passes during a pause is skipped as expired; T1: a send window. */
  async 'expired-window'(world, env) {
    const steps: StepInput[] = [
      { id: 'a', name: 'A', delay: 'PT0S', subject: 'A', html: '<p>a</p>' },
      { id: 'b', name: 'B', delay: 'P1D', expiresAfter: 'PT6H', subject: 'B', html: '<p>b</p>' },
      { id: 'c', name: 'C', delay: 'P1D', subject: 'C', html: '<p>c</p>' },
    ];
    const sequence = await world.publishedSequence({
      steps,
      sendWindow: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
      timeZone: 'Europe/Paris',
    });
    const contact = await world.contact();
    const result = await enrollContact(ctx(world), sequence.id, contact.id);
    const handle = env.client.workflow.getHandle(result.enrollment.workflowId);
    await env.sleep('2 hours');
    await pauseEnrollment(ctx(world), result.enrollment.id);
    await env.sleep('5 days');
    await resumeEnrollment(ctx(world), result.enrollment.id);
    await handle.result();
    return [{ workflowId: result.enrollment.workflowId }];
  },

  /** S6: the sequence deleted under a running enrollment (the fan-out cancels it). */
  async 'sequence-deleted'(world, env) {
    const { run, handle, sequence } = await enroll(world);
    await env.sleep('1 day');
    await deleteSequence(ctx(world), sequence.id, { purge: false });
    await handle.result();
    return [run];
  },

  /** D4: the provider refuses the address for good; the enrollment ends failed. */
  async 'invalid-recipient'(world) {
    const { run, handle } = await enroll(world, undefined, { email: 'invalid-recipient@example.com' });
    await handle.result();
    return [run];
  },

  /** §4: a long run continues as new (forced early), with a hold carried across. */
  async 'continued-as-new'(world, env) {
    const sequence = await world.publishedSequence();
    const contact = await world.contact();
    const { enrollment, handle } = await startEnrollmentWith(world, sequence, contact, {
      continueAsNewAfterEvents: 15,
    });
    await env.sleep('1 day');
    await pauseEnrollment(ctx(world), enrollment.id);
    await env.sleep('1 day');
    await resumeEnrollment(ctx(world), enrollment.id);
    await eventually(async () => (await handle.describe()).runId !== handle.firstExecutionRunId, {
      what: 'a new run',
    });
    await world.env.client.workflow.getHandle(enrollment.workflowId).result();
    return [
      { workflowId: enrollment.workflowId, runId: handle.firstExecutionRunId },
      { workflowId: enrollment.workflowId },
    ];
  },
};
