/** Stopping a contact: everywhere (E5), or in one sequence (S7). Both are E4 stops. */
import { Enrollment, LIVE_ENROLLMENT_STATUSES } from '../../db/entities/index.js';
import type { ServiceContext } from '../context.js';
import { ProblemError } from '../errors.js';
import { getContact } from './contacts.js';
import { cancelEnrollment } from './enrollments.js';
import { getSequence } from './sequences.js';

const live = { $in: [...LIVE_ENROLLMENT_STATUSES] };

/** E5: cancels every live enrollment of the contact; answers the ones it ended. */
export async function stopContact(
  ctx: ServiceContext,
  contactId: string,
  reason: string,
): Promise<Enrollment[]> {
  const contact = await getContact(ctx, contactId);
  const enrollments = await ctx.em.find(
    Enrollment,
    { workspace: ctx.workspaceId, contact: contact.id, status: live },
    { orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  const ended: Enrollment[] = [];
  for (const enrollment of enrollments) {
    try {
      ended.push(await cancelEnrollment({ ...ctx, em: ctx.em.fork() }, enrollment.id, reason));
    } catch (error) {
      // It ended on its own meanwhile (its last step, a goal): nothing left to stop.
      if (!(error instanceof ProblemError && error.kind === 'enrollment-ended')) throw error;
    }
  }
  return ended;
}

/** S7: removing a contact from a sequence cancels its live enrollment there (reason `removed`). */
export async function removeContactFromSequence(
  ctx: ServiceContext,
  sequenceId: string,
  contactId: string,
): Promise<Enrollment> {
  const sequence = await getSequence(ctx, sequenceId);
  const contact = await getContact(ctx, contactId);
  const enrollment = await ctx.em.findOne(Enrollment, {
    sequence: sequence.id,
    contact: contact.id,
    status: live,
  });
  if (!enrollment) {
    throw new ProblemError(
      404,
      'not-found',
      'Enrollment not found',
      `The contact ${contact.id} is not active in sequence ${sequence.id}.`,
      { sequenceId: sequence.id, contactId: contact.id },
    );
  }
  return cancelEnrollment({ ...ctx, em: ctx.em.fork() }, enrollment.id, 'removed');
}
