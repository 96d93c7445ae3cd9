/**
 * D6: `POST /webhooks/resend`. Resend signs each event the Standard Webhooks way (it documents
 * the headers as `svix-id`, `svix-timestamp`, `svix-signature`; the standard names them
 * `webhook-*`; both are accepted). The signature is checked over the raw body with the
 * `standardwebhooks` library, which also refuses timestamps more than five minutes away:
 * forged, altered and stale requests get a 401 and change nothing. A replay of a genuine
 * event within those five minutes is recognised by its id and changes nothing either.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { Type } from 'typebox';
import type { TemporalAccess } from '../context.js';
import { ProblemError } from '../errors.js';
import { Problem } from '../schemas/common.js';
import { applyResendEvent, type ResendEvent } from '../services/webhooks.js';

const HEADER_NAMES = ['id', 'timestamp', 'signature'] as const;

const WebhookAccepted = Type.Object({
  received: Type.Literal(true),
  outcome: Type.Union([Type.Literal('processed'), Type.Literal('duplicate'), Type.Literal('ignored')], {
    description:
      '`duplicate`: this event id was processed before; `ignored`: it is about an email Nudge did not send.',
  }),
});

export function webhookRoutes(deps: {
  orm: MikroORM;
  temporal: TemporalAccess;
  webhookSecret: string | null;
}): FastifyPluginAsyncTypebox {
  const verifier = deps.webhookSecret ? new Webhook(deps.webhookSecret) : null;

  return async (app) => {
    // The signature covers the exact bytes Resend sent: keep the body as a string here.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );

    app.post(
      '/webhooks/resend',
      {
        config: { public: true, rateLimit: false },
        schema: {
          tags: ['webhooks'],
          summary: 'Resend email events (delivered, bounced, complained, opened, clicked, …)',
          description:
            'Point a Resend webhook here and set RESEND_WEBHOOK_SECRET to its signing secret. Events ' +
            'update the delivery ledger; a bounce or complaint suppresses the contact and ends its ' +
            'enrollments. Each event id is processed once.',
          response: { 200: WebhookAccepted, 401: Problem, 503: Problem },
        },
      },
      async (request) => {
        if (!verifier) {
          throw new ProblemError(
            503,
            'webhooks-not-configured',
            'Webhooks are not configured',
            'Set RESEND_WEBHOOK_SECRET to the signing secret of the Resend webhook.',
          );
        }
        const raw = typeof request.body === 'string' ? request.body : '';
        const headers: Record<string, string> = {};
        for (const name of HEADER_NAMES) {
          const value = request.headers[`webhook-${name}`] ?? request.headers[`svix-${name}`];
          if (typeof value === 'string') headers[`webhook-${name}`] = value;
        }
        try {
          verifier.verify(raw, headers, { jsonParse: false });
        } catch (error) {
          if (!(error instanceof WebhookVerificationError)) throw error;
          throw new ProblemError(401, 'invalid-signature', 'Invalid webhook signature', error.message);
        }
        const event = parseEvent(raw);
        const { outcome } = await applyResendEvent(
          { orm: deps.orm, temporal: deps.temporal, logger: request.log },
          headers['webhook-id']!,
          event,
        );
        return { received: true as const, outcome };
      },
    );
  };
}

function parseEvent(raw: string): ResendEvent {
  let event: unknown;
  try {
    event = JSON.parse(raw);
  } catch {
    throw new ProblemError(400, 'malformed-body', 'Malformed event', 'The event is not JSON.');
  }
  if (!event || typeof event !== 'object' || typeof (event as ResendEvent).type !== 'string') {
    throw new ProblemError(400, 'malformed-body', 'Malformed event', 'The event has no `type`.');
  }
  return event as ResendEvent;
}
