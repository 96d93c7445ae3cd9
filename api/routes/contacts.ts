import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contactResponse } from '../serialize.js';
import { problemResponses, Problem } from '../schemas/common.js';
import { ContactInput, ContactParams, ContactSchema } from '../schemas/contacts.js';
import { createContact, getContact } from '../services/contacts.js';

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
      return reply.code(201).send(contactResponse(contact));
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
