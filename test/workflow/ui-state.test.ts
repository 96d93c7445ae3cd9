/**
 * DESIGN §4: engineers find enrollments in the Temporal UI by their search attributes, so those
 * must follow the workflow's state even when a signal races its own bookkeeping.
 */
import type { ServiceContext } from '../../api/context.js';
import { cancelEnrollment, enrollContact, pauseEnrollment } from '../../api/services/enrollments.js';
import { stateQuery } from '../../workflows/messages.js';
import { EnrollmentStatusAttribute, NextSendTimeAttribute } from '../../workflows/search-attributes.js';
import { useWorld } from '../support/use-world.js';
import { eventually } from '../support/wait.js';

/** While set, recordProgress waits for it: the workflow is caught in the middle of its bookkeeping. */
let gate: Promise<void> | null = null;
let caught = false;
const t = useWorld({
  world: {
    wrapActivities: (activities) => ({
      ...activities,
      // As a worker from before loadPlan mirrored the first step answers: without the mirror,
      // so the workflow's show() records it with recordProgress (and can be caught there).
      loadPlan: ({ enrollmentId, generation }) => activities.loadPlan({ enrollmentId, generation }),
      async recordProgress(input) {
        if (gate) {
          caught = true;
          await gate;
        }
        return activities.recordProgress(input);
      },
    }),
  },
});
const ctx = (): ServiceContext => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });

test('E8: a pause that lands while the workflow records its progress still shows as paused in the Temporal UI', async () => {
  const sequence = await t.world.publishedSequence({
    steps: [{ id: 'later', name: 'Later', delay: 'P1D', subject: 'Later', html: '<p>x</p>' }],
  });
  const contact = await t.world.contact();
  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  const { enrollment } = await enrollContact(ctx(), sequence.id, contact.id);
  const handle = t.env.client.workflow.getHandle(enrollment.workflowId);
  await eventually(async () => caught, { what: 'the workflow inside recordProgress' });

  await pauseEnrollment(ctx(), enrollment.id);
  await eventually(async () => (await handle.query(stateQuery)).status === 'paused', { what: 'paused' });
  gate = null;
  open();

  const attributes = () => handle.describe().then((d) => d.typedSearchAttributes);
  await eventually(async () => (await attributes()).get(EnrollmentStatusAttribute) === 'paused', {
    what: 'NudgeEnrollmentStatus = paused',
  });
  expect((await attributes()).get(NextSendTimeAttribute)).toBeUndefined(); // a held step has no send time
  await cancelEnrollment(ctx(), enrollment.id);
});
