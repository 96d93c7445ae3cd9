import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifySchemaCompiler } from 'fastify';
import {
  BulkEnrollInput,
  BulkEnrollResponse,
  BulkEnvelope,
  ReEnrollInput,
  ReEnrollResponse,
} from '../schemas/bulk.js';
import { reEnroll } from '../services/re-enrollment.js';
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
        return answerBatch(reply, outcome);
      },
    );

    app.post(
      '/sequences/:sequenceId/re-enroll',
      {
        schema: {
          tags: ['enrollments'],
          summary:
            'Re-enroll contacts who completed, were cancelled, failed or were ineligible: a list, or everyone not active (E7)',
          description:
            'Starts each contact again at step 1 as a new generation (E1). `contactIds` re-enrolls that list ' +
            '(a contact never enrolled in the sequence is `invalid`, reason `not_in_sequence`; an active one ' +
            'is `already_active`). `all: true` re-enrolls everyone who was in the sequence and is not active ' +
            'now, 10,000 per call, leaving out suppressed contacts; `remaining` says how many are left: call ' +
            'again until it is 0.',
          params: SequenceParams,
          body: ReEnrollInput,
          response: { 200: ReEnrollResponse },
        },
      },
      async (request, reply) => {
        const outcome = await reEnroll(request.services, request.params.sequenceId, request.body, tuning);
        return answerBatch(reply, outcome);
      },
    );
  };
}

/** A batch with transient failures is not kept under its Idempotency-Key, so a retry retries them. */
function answerBatch<T extends { summary: { failed: number } }>(reply: FastifyReply, outcome: T): T {
  if (outcome.summary.failed > 0) reply.doNotStoreIdempotentResponse();
  return outcome;
}
