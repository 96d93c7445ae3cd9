import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sequenceResponse } from '../serialize.js';
import { Problem, problemResponses } from '../schemas/common.js';
import { pageOf } from '../pagination.js';
import {
  DeleteSequenceQuery,
  DeleteSequenceResult,
  SequenceInput,
  SequenceListQuery,
  SequenceParams,
  SequenceSchema,
  SequenceUpdate,
} from '../schemas/sequences.js';
import {
  deleteSequence,
  pauseSequence,
  resumeSequence,
  updateSequence,
} from '../services/sequence-changes.js';
import { listSequences } from '../services/lists.js';
import {
  createSequence,
  getSequence,
  liveVersion,
  liveVersions,
  publishSequence,
} from '../services/sequences.js';

export const sequenceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sequences',
    {
      schema: {
        tags: ['sequences'],
        summary: 'Create a sequence (as a draft, S1)',
        body: SequenceInput,
        response: { 201: SequenceSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const sequence = await createSequence(request.services, request.body);
      return reply
        .code(201)
        .header('location', `/sequences/${sequence.id}`)
        .send(sequenceResponse(sequence, null));
    },
  );

  app.get(
    '/sequences',
    {
      schema: {
        tags: ['sequences'],
        summary: 'List sequences, newest first (deleted ones are gone)',
        querystring: SequenceListQuery,
        response: { 200: pageOf(SequenceSchema) },
      },
    },
    async (request) => {
      const page = await listSequences(request.services, request.query);
      const live = await liveVersions(request.services, page.items);
      return {
        data: page.items.map((sequence) => sequenceResponse(sequence, live.get(sequence.id) ?? null)),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/sequences/:sequenceId',
    {
      schema: {
        tags: ['sequences'],
        summary: 'Read a sequence with its draft and live steps',
        params: SequenceParams,
        response: { 200: SequenceSchema, ...problemResponses },
      },
    },
    async (request) => {
      const sequence = await getSequence(request.services, request.params.sequenceId);
      return sequenceResponse(sequence, await liveVersion(request.services, sequence));
    },
  );

  app.post(
    '/sequences/:sequenceId/publish',
    {
      schema: {
        tags: ['sequences'],
        summary: 'Publish the draft as a new live version (S2)',
        params: SequenceParams,
        response: { 200: SequenceSchema, ...problemResponses, 422: Problem },
      },
    },
    async (request) => {
      const { sequence, version } = await publishSequence(request.services, request.params.sequenceId);
      return sequenceResponse(sequence, version);
    },
  );

  app.patch(
    '/sequences/:sequenceId',
    {
      schema: {
        tags: ['sequences'],
        summary: 'Edit a sequence: steps go to the draft (S1, S5), settings apply at once',
        params: SequenceParams,
        body: SequenceUpdate,
        response: { 200: SequenceSchema, ...problemResponses },
      },
    },
    async (request) => {
      const sequence = await updateSequence(request.services, request.params.sequenceId, request.body);
      return sequenceResponse(sequence, await liveVersion(request.services, sequence));
    },
  );

  const lifecycle = (path: string, summary: string, run: typeof pauseSequence) =>
    app.post(
      `/sequences/:sequenceId/${path}`,
      {
        schema: {
          tags: ['sequences'],
          summary,
          params: SequenceParams,
          response: { 200: SequenceSchema, ...problemResponses, 409: Problem },
        },
      },
      async (request) => {
        const sequence = await run(request.services, request.params.sequenceId);
        return sequenceResponse(sequence, await liveVersion(request.services, sequence));
      },
    );
  lifecycle(
    'pause',
    'Pause a sequence: no new enrollments, every pending step held; no email of it is sent once this returns (S3)',
    pauseSequence,
  );
  lifecycle(
    'resume',
    'Resume a sequence: held steps go at their due time, overdue ones at the next valid send time, at the provider rate (S4)',
    resumeSequence,
  );

  app.delete(
    '/sequences/:sequenceId',
    {
      schema: {
        tags: ['sequences'],
        summary:
          'Delete a sequence for good: running enrollments end (S6); records stay for audit unless `purge=true`',
        params: SequenceParams,
        querystring: DeleteSequenceQuery,
        response: { 200: DeleteSequenceResult, ...problemResponses },
      },
    },
    async (request) =>
      deleteSequence(request.services, request.params.sequenceId, { purge: request.query.purge ?? false }),
  );
};
