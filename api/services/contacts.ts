import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { Contact } from '../../db/entities/index.js';
import { isValidTimeZone } from '../../workflows/send-window.js';
import type { ServiceContext } from '../context.js';
import { conflict, invalidField, notFound } from '../errors.js';
import type { ContactInput } from '../schemas/contacts.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function createContact(ctx: ServiceContext, input: ContactInput): Promise<Contact> {
  if (input.timeZone !== undefined && !isValidTimeZone(input.timeZone)) {
    throw invalidField('/body/timeZone', `${input.timeZone} is not an IANA time zone`);
  }
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
