import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contactResponse, taggedContactResponse } from '../serialize.js';
import { Problem, problemResponses } from '../schemas/common.js';
import { ContactParams, ContactSchema } from '../schemas/contacts.js';
import { AddTagsInput, ContactTagParams, TaggedContactSchema } from '../schemas/tags.js';
import { addTags, removeTag } from '../services/tags.js';

export const contactTagRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/contacts/:contactId/tags',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Add tags; those the contact lacked are applied: exit goals, then triggers (E11, E6)',
        description:
          'The answer lists what the applied tags set off: `completed` (enrollments an exit tag ended) ' +
          'and `triggered` (one result per sequence a tag triggers on). A sequence’s active tag cannot ' +
          'be put on by hand (409 `managed-tag`).',
        params: ContactParams,
        body: AddTagsInput,
        response: { 200: TaggedContactSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request) =>
      taggedContactResponse(await addTags(request.services, request.params.contactId, request.body.tags)),
  );

  app.delete(
    '/contacts/:contactId/tags/:tag',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Remove a tag (sets nothing off; a tag the contact lacks changes nothing)',
        description:
          'A sequence’s active tag comes off only with its enrollment (409 `managed-tag`): remove the ' +
          'contact from the sequence instead.',
        params: ContactTagParams,
        response: { 200: ContactSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request) =>
      contactResponse(await removeTag(request.services, request.params.contactId, request.params.tag)),
  );
};
