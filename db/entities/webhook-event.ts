import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A provider webhook already processed (D6), by the provider's message id: redeliveries and
 * replays of the same event change nothing. Plain ids, not foreign keys: events about
 * unknown or purged emails are remembered too, so they are not processed twice either.
 */
export const WebhookEvent = defineEntity({
  name: 'WebhookEvent',
  indexes: [{ properties: ['receivedAt'] }],
  properties: {
    id: p.string().primary(),
    provider: p.string(),
    type: p.string(),
    emailId: p.string().nullable(),
    delivery: p.uuid().fieldName('delivery_id').nullable(),
    receivedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type WebhookEvent = InferEntity<typeof WebhookEvent>;
