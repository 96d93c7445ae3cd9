import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contactResponse } from '../serialize.js';
import { problemResponses, Problem } from '../schemas/common.js';
import { ContactInput, ContactListQuery, ContactParams, ContactSchema } from '../schemas/contacts.js';
import { pageOf } from '../pagination.js';
import { createContact, getContact } from '../services/contacts.js';
import { listContacts } from '../services/lists.js';

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Create a contact',
        body: ContactInput,
        response: { 201: ContactSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request, reply) => {
      const contact = await createContact(request.services, request.body);
      return reply.code(201).header('location', `/contacts/${contact.id}`).send(contactResponse(contact));
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
};
