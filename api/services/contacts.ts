import pLimit from 'p-limit';
import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Contact, Enrollment, LIVE_ENROLLMENT_STATUSES } from '../../db/entities/index.js';
import { sequenceChangedSignal } from '../../workflows/messages.js';
import { isValidTimeZone } from '../../workflows/send-window.js';
import type { ServiceContext } from '../context.js';
import { conflict, invalidField, notFound } from '../errors.js';
import type { ContactInput, ContactPatch } from '../schemas/contacts.js';
import { actOnAppliedTags, editContact, refuseActiveTagsOnNewContact, type TaggedContact } from './tags.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function checkTimeZone(timeZone: string | null | undefined): void {
  if (typeof timeZone === 'string' && !isValidTimeZone(timeZone)) {
    throw invalidField('/body/timeZone', `${timeZone} is not an IANA time zone`);
  }
}

export async function createContact(ctx: ServiceContext, input: ContactInput): Promise<Contact> {
  checkTimeZone(input.timeZone);
  const email = normalizeEmail(input.email);
  const existing = await ctx.em.findOne(Contact, { workspace: ctx.workspaceId, email });
  if (existing) {
    throw conflict('contact-exists', 'Contact exists', `A contact with email ${email} exists.`, {
      field: '/body/email',
      contactId: existing.id,
    });
  }
  const contact = ctx.em.create(Contact, {
    workspace: ctx.workspaceId,
    email,
    name: input.name ?? null,
    timeZone: input.timeZone ?? null,
    attributes: input.attributes ?? {},
    tags: input.tags ?? [],
  });
  try {
    await ctx.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw conflict('contact-exists', 'Contact exists', `A contact with email ${email} exists.`, {
        field: '/body/email',
      });
    }
    throw error;
  }
  return contact;
}

export async function getContact(ctx: ServiceContext, contactId: string): Promise<Contact> {
  const contact = await ctx.em.findOne(Contact, { id: contactId, workspace: ctx.workspaceId });
  if (!contact) throw notFound('Contact', contactId);
  return contact;
}

/** POST /contacts: a new contact's tags count as applied, so they may trigger sequences (E6). */
export async function createTaggedContact(ctx: ServiceContext, input: ContactInput): Promise<TaggedContact> {
  await refuseActiveTagsOnNewContact(ctx, input.tags ?? []);
  const contact = await createContact(ctx, input);
  try {
    return await actOnAppliedTags(ctx, contact.id, contact.tags);
  } catch (error) {
    // The caller gets an error, so a retry must create the contact again, not answer 409.
    await forgetContactIfUnenrolled(ctx, contact.id);
    throw error;
  }
}

/** Deletes a contact no trigger got as far as enrolling (its audit events stay). */
async function forgetContactIfUnenrolled(ctx: ServiceContext, contactId: string): Promise<void> {
  await ctx.em
    .fork()
    .getConnection()
    .execute(
      'delete from contact where id = ? and not exists (select 1 from enrollment where contact_id = ?)',
      [contactId, contactId],
    );
}

/**
 * PATCH: given fields replace, `attributes` merge key by key (null removes a key), `tags`
 * replaces the set; tags it adds are applied (exits, then triggers). A `timeZone` re-plans
 * the contact's live enrollments (T1).
 */
export async function updateContact(
  ctx: ServiceContext,
  contactId: string,
  patch: ContactPatch,
): Promise<TaggedContact> {
  checkTimeZone(patch.timeZone);
  const updated = await editContact(
    ctx,
    contactId,
    (contact) => {
      if (patch.name !== undefined) contact.name = patch.name;
      if (patch.timeZone !== undefined) contact.timeZone = patch.timeZone;
      if (patch.attributes) contact.attributes = mergeAttributes(contact.attributes, patch.attributes);
      if (patch.tags) contact.tags = [...patch.tags];
    },
    '/body/tags',
  );
  // Whether or not the zone changed: a retry of a request that failed here finishes the job.
  if (patch.timeZone !== undefined) await replanLiveEnrollments(ctx, [contactId]);
  return updated;
}

/**
 * T1: send windows are evaluated in the contact's time zone, so after a change of zone every
 * live enrollment re-loads its plan and recomputes its pending send time (after the commit:
 * the workflows read the committed contact). `exceptSequenceId`: enrollments just started
 * there read the new zone anyway.
 */
export async function replanLiveEnrollments(
  ctx: ServiceContext,
  contactIds: string[],
  exceptSequenceId?: string,
): Promise<void> {
  if (contactIds.length === 0) return;
  const live = await ctx.em.fork().find(
    Enrollment,
    {
      contact: { $in: contactIds },
      workspace: ctx.workspaceId,
      status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
      ...(exceptSequenceId ? { sequence: { $ne: exceptSequenceId } } : {}),
    },
    { fields: ['workflowId'] },
  );
  const limit = pLimit(REPLAN_CONCURRENCY);
  await Promise.all(
    live.map(({ workflowId }) =>
      limit(async () => {
        try {
          await ctx.temporal.client.workflow.getHandle(workflowId).signal(sequenceChangedSignal);
        } catch (error) {
          // Ended meanwhile: nothing left to plan.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      }),
    ),
  );
}
const REPLAN_CONCURRENCY = 50;

function mergeAttributes(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
