/**
 * Starts an enrollment's workflow the way the API does, but with extra workflow input (the
 * test-only history limit that forces continue-as-new early).
 */
import { Enrollment } from '../../db/entities/index.js';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';
import { enrollmentWorkflowId } from '../../workflows/ids.js';
import {
  ContactEmailAttribute,
  ContactIdAttribute,
  EnrollmentStatusAttribute,
  SequenceIdAttribute,
} from '../../workflows/search-attributes.js';
import type { EnrollmentInput } from '../../workflows/state.js';
import type { World } from './world.js';

export async function startEnrollmentWith(
  world: World,
  sequence: { id: string },
  contact: { id: string; email: string },
  extra: Partial<EnrollmentInput>,
) {
  const em = world.db.orm.em.fork();
  const enrollment = em.create(Enrollment, {
    workspace: world.ctx.workspaceId,
    sequence: sequence.id,
    contact: contact.id,
    generation: 1,
    status: 'active',
    workflowId: enrollmentWorkflowId(sequence.id, contact.id),
  });
  await em.flush();
  const handle = await world.env.client.workflow.start<typeof enrollmentWorkflow>('enrollmentWorkflow', {
    workflowId: enrollment.workflowId,
    taskQueue: world.taskQueue,
    args: [
      {
        enrollmentId: enrollment.id,
        workspaceId: world.ctx.workspaceId,
        sequenceId: sequence.id,
        contactId: contact.id,
        generation: 1,
        ...extra,
      },
    ],
    typedSearchAttributes: [
      { key: SequenceIdAttribute, value: sequence.id },
      { key: ContactIdAttribute, value: contact.id },
      { key: ContactEmailAttribute, value: contact.email },
      { key: EnrollmentStatusAttribute, value: 'active' },
    ],
  });
  return { enrollment, handle };
}
