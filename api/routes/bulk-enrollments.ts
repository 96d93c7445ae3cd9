import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';
import { BulkEnrollInput, BulkEnrollResponse, BulkEnvelope } from '../schemas/bulk.js';
import { SequenceParams } from '../schemas/sequences.js';
import { bulkEnroll, DEFAULT_BULK_TUNING, type BulkTuning } from '../services/bulk-enrollments.js';
import { compileStrict, validatorCompiler } from '../validation.js';

// The document shows the item shapes; the route checks only the envelope, so one bad item
// is reported in its result instead of refusing the other 9,999.
const envelopeOnly: FastifySchemaCompiler<object> = (route) =>
  route.httpPart === 'body' ? compileStrict(BulkEnvelope) : validatorCompiler(route);

export function bulkEnrollmentRoutes(tuning: BulkTuning = DEFAULT_BULK_TUNING): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/sequences/:sequenceId/enrollments/bulk',
      {
        bodyLimit: app.limits.bulkBodyLimitBytes,
        config: { checksBodyItems: true },
        validatorCompiler: envelopeOnly,
        schema: {
          tags: ['enrollments'],
          summary: 'Enroll up to 10,000 contacts, by id or by email (creating or updating them)',
          description:
            'Answers with one result per item, in order: `enrolled`, `already_active` (E2), `ineligible` ' +
            '(E12, with the reason), `invalid` (with the offending field) or `failed` (transient; retry). ' +
            'A response with `failed` items is not stored under its Idempotency-Key, so a retry with the ' +
            'same key retries them (the others then answer `already_active`).',
          params: SequenceParams,
          body: BulkEnrollInput,
          response: { 200: BulkEnrollResponse },
        },
      },
      async (request, reply) => {
        const outcome = await bulkEnroll(
          request.services,
          request.params.sequenceId,
          request.body.contacts as unknown[],
          tuning,
        );
        if (outcome.summary.failed > 0) reply.doNotStoreIdempotentResponse();
        return outcome;
      },
    );
  };
}
