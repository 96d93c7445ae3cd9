/**
 * Tags on contacts, and what applying one sets off (DESIGN E6, E11, S3, E12).
 *
 * A tag is *applied* when it is added to a contact that did not carry it. The tag change
 * commits first, under the contact's row lock; then the applied tags are acted on: exit
 * goals first (a live enrollment in a sequence that exits on one ends `completed`, reason
 * `goal`), then triggers (every active sequence that triggers on one enrolls the contact; a
 * paused one records the attempt). The enrollment services decide E1, E2, E10 and E12; this
 * module only chooses which sequences to hand them.
 *
 * A sequence's active tag belongs to Nudge: it says "live in this sequence", so an edit by
 * hand that would make it lie is refused (409 `managed-tag`).
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { appendEvent } from '../../activities/event-log.js';
import { Contact, Enrollment, LIVE_ENROLLMENT_STATUSES, Sequence } from '../../db/entities/index.js';
import type { ServiceContext } from '../context.js';
import { conflict, notFound, ProblemError } from '../errors.js';
import { endEnrollment, enrollContact } from './enrollments.js';

export type TriggerResult = 'enrolled' | 'already_active' | 'ineligible' | 'refused';

/** What a trigger did in one sequence. `refused` (S3, paused) has no enrollment. */
export interface TriggerOutcome {
  sequenceId: string;
  result: TriggerResult;
  enrollmentId: string | null;
  reason: string | null;
}

/** An enrollment an exit tag ended `completed` (reason `goal`). */
export interface GoalOutcome {
  sequenceId: string;
  enrollmentId: string;
}

export interface TaggedContact {
  contact: Contact;
  triggered: TriggerOutcome[];
  completed: GoalOutcome[];
}

/**
 * Changes a contact under its row lock (`edit` mutates the locked row: fields, tags), then
 * acts on the tags the change applied. `tagsField` names the input for a refusal.
 */
export async function editContact(
  ctx: ServiceContext,
  contactId: string,
  edit: (contact: Contact) => void,
  tagsField: string,
): Promise<TaggedContact> {
  const applied = await ctx.em.fork().transactional(async (tx) => {
    const contact = await tx.findOne(
      Contact,
      { id: contactId, workspace: ctx.workspaceId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!contact) throw notFound('Contact', contactId);
    const before = [...contact.tags];
    edit(contact);
    const added = contact.tags.filter((tag) => !before.includes(tag));
    const removed = before.filter((tag) => !contact.tags.includes(tag));
    await refuseActiveTagEdits(tx, ctx.workspaceId, contact, [...added, ...removed], tagsField);
    recordTagChange(tx, contact, added, removed);
    return added;
  });
  return actOnAppliedTags(ctx, contactId, applied);
}

/** Adds tags to a contact; those it did not carry are applied (exits, then triggers). */
export function addTags(ctx: ServiceContext, contactId: string, tags: string[]): Promise<TaggedContact> {
  return editContact(
    ctx,
    contactId,
    (contact) => {
      contact.tags = [...contact.tags, ...tags.filter((tag) => !contact.tags.includes(tag))];
    },
    '/body/tags',
  );
}

/** Removes one tag; removing sets nothing off. Removing a tag the contact lacks changes nothing. */
export async function removeTag(ctx: ServiceContext, contactId: string, tag: string): Promise<Contact> {
  const edited = await editContact(
    ctx,
    contactId,
    (contact) => {
      contact.tags = contact.tags.filter((t) => t !== tag);
    },
    '/params/tag',
  );
  return edited.contact;
}

/** A new contact may not carry an active tag: it has no enrollment for the tag to describe. */
export async function refuseActiveTagsOnNewContact(ctx: ServiceContext, tags: string[]): Promise<void> {
  await refuseActiveTagEdits(ctx.em, ctx.workspaceId, { id: null, tags }, tags, '/body/tags');
}

/**
 * Exits, then triggers, for tags just applied to a contact. If one cannot be carried out
 * (Temporal unreachable), the applied tags come off again before the error goes back: a
 * retry applies them anew and finishes the job (enrollments already made are E2 no-ops).
 */
export async function actOnAppliedTags(
  ctx: ServiceContext,
  contactId: string,
  applied: string[],
): Promise<TaggedContact> {
  let effects: Omit<TaggedContact, 'contact'> = { triggered: [], completed: [] };
  if (applied.length > 0) {
    try {
      effects = await runExitsThenTriggers(ctx, contactId, applied);
    } catch (error) {
      await takeTagsBack(ctx, contactId, applied);
      throw error;
    }
  }
  // Read again: enrolling and ending put active tags on and off.
  const contact = await ctx.em.fork().findOneOrFail(Contact, contactId);
  return { contact, ...effects };
}

async function runExitsThenTriggers(
  ctx: ServiceContext,
  contactId: string,
  applied: string[],
): Promise<Omit<TaggedContact, 'contact'>> {
  // Drafts have no enrollments and take none; deleted sequences are gone.
  const sequences = await ctx.em.fork().find(
    Sequence,
    {
      workspace: ctx.workspaceId,
      status: { $in: ['active', 'paused'] },
      $or: [{ exitTags: { $overlap: applied } }, { triggerTags: { $overlap: applied } }],
    },
    { orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  const appliedIn = (tags: string[]) => tags.some((tag) => applied.includes(tag));

  const completed: GoalOutcome[] = [];
  for (const sequence of sequences.filter((s) => appliedIn(s.exitTags))) {
    const ended = await reachGoal(ctx, sequence.id, contactId);
    if (ended) completed.push(ended);
  }
  const triggered: TriggerOutcome[] = [];
  for (const sequence of sequences.filter((s) => appliedIn(s.triggerTags))) {
    const outcome = await trigger(ctx, sequence.id, contactId);
    if (outcome) triggered.push(outcome);
  }
  return { triggered, completed };
}

/** E11: the contact's live enrollment in the sequence, if any, ends `completed` (goal). */
async function reachGoal(ctx: ServiceContext, sequenceId: string, contactId: string) {
  const live = await ctx.em.fork().findOne(Enrollment, {
    sequence: sequenceId,
    contact: contactId,
    status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
  });
  if (!live) return null;
  try {
    const ended = await endEnrollment(unitOfWork(ctx), live.id, { outcome: 'completed', reason: 'goal' });
    return { sequenceId, enrollmentId: ended.id };
  } catch (error) {
    // It ended some other way meanwhile (a stop, its last step): nothing left to complete.
    if (error instanceof ProblemError && error.kind === 'enrollment-ended') return null;
    throw error;
  }
}

/** E6: enroll (E1/E2/E12 decided by enrollContact); a paused sequence refuses (S3). */
async function trigger(
  ctx: ServiceContext,
  sequenceId: string,
  contactId: string,
): Promise<TriggerOutcome | null> {
  try {
    const result = await enrollContact(unitOfWork(ctx), sequenceId, contactId);
    return {
      sequenceId,
      result: result.kind,
      enrollmentId: result.enrollment.id,
      reason: result.kind === 'ineligible' ? result.reason : null,
    };
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    // enrollContact has recorded the attempt (`enrollment.refused`) and enrolled nobody.
    if (error.kind === 'sequence-paused') {
      return { sequenceId, result: 'refused', enrollmentId: null, reason: 'sequence_paused' };
    }
    // Deleted since it was read: like any deleted sequence, nothing happens.
    if (error.kind === 'not-found' && error.extra.id === sequenceId) return null;
    throw error;
  }
}

/** Each enrollment change in its own unit of work, so none reads another's stale contact. */
const unitOfWork = (ctx: ServiceContext): ServiceContext => ({ ...ctx, em: ctx.em.fork() });

async function takeTagsBack(ctx: ServiceContext, contactId: string, applied: string[]): Promise<void> {
  await ctx.em.fork().transactional(async (tx) => {
    const contact = await tx.findOneOrFail(Contact, contactId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    contact.tags = contact.tags.filter((tag) => !applied.includes(tag));
    recordTagChange(tx, contact, [], applied, 'not_acted_on');
  });
}

function recordTagChange(
  em: EntityManager,
  contact: Contact,
  added: string[],
  removed: string[],
  reason?: string,
): void {
  if (added.length === 0 && removed.length === 0) return;
  appendEvent(em, {
    workspace: contact.workspace,
    contact: contact.id,
    type: 'contact.tags_changed',
    data: { added, removed, ...(reason ? { reason } : {}) },
  });
}

/**
 * E11: a hand edit may only make a sequence's active tag agree with the contact's
 * enrollments: never put it on without a live enrollment, never take it off during one.
 */
async function refuseActiveTagEdits(
  em: EntityManager,
  workspaceId: string,
  contact: { id: string | null; tags: string[] },
  changed: string[],
  field: string,
): Promise<void> {
  if (changed.length === 0) return;
  const managing = await em.find(Sequence, {
    workspace: workspaceId,
    status: { $ne: 'deleted' },
    activeTag: { $in: changed },
  });
  if (managing.length === 0) return;
  const live = contact.id
    ? await em.find(Enrollment, {
        contact: contact.id,
        sequence: { $in: managing.map((s) => s.id) },
        status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
      })
    : [];
  const liveTags = new Set(live.map((e) => managing.find((s) => s.id === e.sequence)!.activeTag));
  for (const sequence of managing) {
    const tag = sequence.activeTag!;
    const on = contact.tags.includes(tag);
    if (on === liveTags.has(tag)) continue;
    throw conflict(
      'managed-tag',
      'Tag is managed by a sequence',
      on
        ? `${tag} is the active tag of sequence ${sequence.id}: it is on exactly while the contact is ` +
            'enrolled there. Enroll the contact instead.'
        : `${tag} is the active tag of sequence ${sequence.id} and the contact is enrolled there. ` +
            `Remove the contact from the sequence instead (DELETE /sequences/${sequence.id}/contacts/${contact.id}).`,
      { field, tag, sequenceId: sequence.id },
    );
  }
}
