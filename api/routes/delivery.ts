/** Templates previewed as they would be sent, and the numbers of what was sent. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem, problemResponses } from '../schemas/common.js';
import { PreviewParams, PreviewQuery, PreviewSchema, SequenceStatsSchema } from '../schemas/delivery.js';
import { SequenceParams } from '../schemas/sequences.js';
import { sequenceStats } from '../services/delivery-stats.js';
import { previewStep, type PreviewSettings } from '../services/templates.js';

export function deliveryRoutes(settings: PreviewSettings): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/sequences/:sequenceId/steps/:stepId/preview',
      {
        schema: {
          tags: ['sequences'],
          summary: 'Render a step for a contact as its email would be sent (subject, HTML, text, headers)',
          description:
            'Liquid templates see `contact.*` (email, name, first_name, last_name, time_zone, tags and ' +
            'every custom attribute), `sequence.name` and `unsubscribe_url`. A template that does not ' +
            'render is a 422 naming the step, the part and the error.',
          params: PreviewParams,
          querystring: PreviewQuery,
          response: { 200: PreviewSchema, ...problemResponses, 404: Problem, 409: Problem, 422: Problem },
        },
      },
      async (request) =>
        previewStep(request.services, settings, request.params.sequenceId, request.params.stepId, {
          contactId: request.query.contactId,
          version: request.query.version ?? 'draft',
        }),
    );

    app.get(
      '/sequences/:sequenceId/stats',
      {
        schema: {
          tags: ['sequences'],
          summary:
            'Numbers per sequence and per step: sent, delivered, bounced, complained, opened, clicked, unsubscribed, failed',
          params: SequenceParams,
          response: { 200: SequenceStatsSchema, ...problemResponses, 404: Problem },
        },
      },
      async (request) => sequenceStats(request.services, request.params.sequenceId),
    );
  };
}
