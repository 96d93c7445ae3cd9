import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contactResponse, enrollmentResponse, taggedContactResponse } from '../serialize.js';
import { problemResponses, Problem } from '../schemas/common.js';
import {
  ContactInput,
  ContactListQuery,
  ContactParams,
  ContactPatch,
  ContactSchema,
  StoppedContactSchema,
} from '../schemas/contacts.js';
import { CancelInput } from '../schemas/enrollments.js';
import { TaggedContactSchema } from '../schemas/tags.js';
import { pageOf } from '../pagination.js';
import { stopContact } from '../services/contact-enrollments.js';
import { createTaggedContact, getContact, updateContact } from '../services/contacts.js';
import { listContacts } from '../services/lists.js';

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Create a contact; its tags are applied and may trigger sequences (E6)',
        body: ContactInput,
        response: { 201: TaggedContactSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request, reply) => {
      const created = await createTaggedContact(request.services, request.body);
      return reply
        .code(201)
        .header('location', `/contacts/${created.contact.id}`)
        .send(taggedContactResponse(created));
    },
  );

  app.get(
    '/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'List contacts, newest first: by tag, suppression, or active sequence',
        querystring: ContactListQuery,
        response: { 200: pageOf(ContactSchema) },
      },
    },
    async (request) => {
      const page = await listContacts(request.services, request.query);
      return { data: page.items.map(contactResponse), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/contacts/:contactId',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Read a contact',
        params: ContactParams,
        response: { 200: ContactSchema, ...problemResponses },
      },
    },
    async (request) => contactResponse(await getContact(request.services, request.params.contactId)),
  );

  app.patch(
    '/contacts/:contactId',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Update a contact; tags it adds are applied: exit goals, then triggers (E11, E6)',
        description:
          '`attributes` merge key by key (null removes a key); `tags` replaces the set. A sequence’s ' +
          'active tag cannot be put on or taken off by hand (409 `managed-tag`).',
        params: ContactParams,
        body: ContactPatch,
        response: { 200: TaggedContactSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request) =>
      taggedContactResponse(await updateContact(request.services, request.params.contactId, request.body)),
  );

  app.post(
    '/contacts/:contactId/stop',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Stop a contact everywhere: every live enrollment is cancelled (E5); the contact stays',
        params: ContactParams,
        body: CancelInput,
        response: { 200: StoppedContactSchema, ...problemResponses },
      },
    },
    async (request) => {
      const ended = await stopContact(
        request.services,
        request.params.contactId,
        request.body?.reason ?? 'stopped',
      );
      return { ended: ended.map(enrollmentResponse) };
    },
  );
};
