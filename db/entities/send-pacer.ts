import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * D5: when the last provider calls left (at most one per second of the rate, oldest first),
 * one row per provider account, shared by every worker (activities/send-pacer.ts; nothing
 * else touches it).
 */
export const SendPacer = defineEntity({
  name: 'SendPacer',
  properties: {
    id: p.text().primary(),
    departures: p.array().columnType('timestamptz[]').defaultRaw("'{}'"),
  },
});
export type SendPacer = InferEntity<typeof SendPacer>;
