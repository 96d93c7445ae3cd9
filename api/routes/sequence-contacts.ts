import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { enrollmentResponse } from '../serialize.js';
import { Problem, problemResponses, Uuid } from '../schemas/common.js';
import { EnrollmentSchema } from '../schemas/enrollments.js';
import { removeContactFromSequence } from '../services/contact-enrollments.js';

const SequenceContactParams = Type.Object(
  { sequenceId: Uuid, contactId: Uuid },
  { additionalProperties: false },
);

export const sequenceContactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.delete(
    '/sequences/:sequenceId/contacts/:contactId',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'Remove a contact from a sequence: its live enrollment is cancelled, reason `removed` (S7)',
        description: 'A 404 when the contact has no active or paused enrollment in the sequence.',
        params: SequenceContactParams,
        response: { 200: EnrollmentSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request) =>
      enrollmentResponse(
        await removeContactFromSequence(
          request.services,
          request.params.sequenceId,
          request.params.contactId,
        ),
      ),
  );
};
