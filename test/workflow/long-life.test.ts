/**
 * DESIGN §4, long runs: an enrollment continues as new when its history grows, carrying
 * everything (done steps, holds, queued resends, sequence revision) so that no signal and no
 * step is lost or repeated. Forced early here through the workflow's test-only history limit.
 */
import { useWorld } from '../support/use-world.js';

import type { ServiceContext } from '../../api/context.js';
import { pauseEnrollment, resumeEnrollment } from '../../api/services/enrollments.js';
import { resendStep } from '../../api/services/enrollment-steps.js';
import { pauseSequence, resumeSequence } from '../../api/services/sequence-changes.js';
import { stateQuery } from '../../workflows/messages.js';
import { ContactEmailAttribute } from '../../workflows/search-attributes.js';
import { startEnrollmentWith } from '../support/manual-start.js';

import { eventually } from '../support/wait.js';

const t = useWorld();

const ctx = (): ServiceContext => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });
const STEP_IDS = ['s1', 's2', 's3', 's4', 's5', 's6'];

test('§4: continue-as-new carries holds, queued resends and done steps: every step once, nothing lost', async () => {
  const sequence = await t.world.publishedSequence({
    steps: STEP_IDS.map((id, index) => ({
      id,
      name: id,
      delay: index === 0 ? 'PT0S' : 'P1D',
      subject: `Step ${id}`,
      html: '<p>hi</p>',
    })),
  });
  const contact = await t.world.contact();
  // Started as the API does, but with a history limit low enough to continue as new often.
  const { enrollment, handle } = await startEnrollmentWith(t.world, sequence, contact, {
    continueAsNewAfterEvents: 20,
  });
  const sends = () => t.sender.sends.filter((send) => send.email.to === contact.email);
  const state = () => t.env.client.workflow.getHandle(enrollment.workflowId).query(stateQuery);
  await eventually(async () => sends().length === 1, { what: 'step 1' });

  await t.env.sleep('1 day');
  await eventually(async () => sends().length === 2, { what: 'step 2' });
  // Holds from both sources, a queued resend and a sequence revision, across new runs.
  await pauseEnrollment(ctx(), enrollment.id);
  await pauseSequence(ctx(), sequence.id);
  await eventually(async () => (await state()).heldBy.length === 2, { what: 'both holds' });
  await resendStep(ctx(), enrollment.id, 's1');
  await t.env.sleep('5 days');
  expect(sends()).toHaveLength(2);
  await resumeEnrollment(ctx(), enrollment.id);
  await eventually(async () => (await state()).heldBy.join() === 'sequence', {
    what: 'the sequence hold only',
  });
  await t.env.sleep('1 day');
  expect(sends()).toHaveLength(2); // still held by the sequence
  await resumeSequence(ctx(), sequence.id);

  const result = await t.env.client.workflow.getHandle(enrollment.workflowId).result();
  expect(result).toMatchObject({ status: 'completed', doneStepIds: STEP_IDS });
  const subjects = sends().map((send) => send.email.subject);
  expect(subjects.sort()).toEqual([...STEP_IDS.map((id) => `Step ${id}`), 'Step s1'].sort());

  // It did continue as new, and the latest run kept the attributes engineers search by.
  const latest = await t.env.client.workflow.getHandle(enrollment.workflowId).describe();
  expect(latest.runId).not.toBe(handle.firstExecutionRunId);
  expect(latest.typedSearchAttributes.get(ContactEmailAttribute)).toBe(contact.email);
  const first = await t.env.client.workflow
    .getHandle(enrollment.workflowId, handle.firstExecutionRunId)
    .describe();
  expect(first.status.name).toBe('CONTINUED_AS_NEW');
});
