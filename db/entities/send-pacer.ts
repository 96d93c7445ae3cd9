import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * D5: the next free provider-call slot, one row per provider account, shared by every worker
 * (activities/send-pacer.ts updates it in one statement; nothing else touches it).
 */
export const SendPacer = defineEntity({
  name: 'SendPacer',
  properties: {
    id: p.text().primary(),
    nextAt: p.datetime(),
  },
});
export type SendPacer = InferEntity<typeof SendPacer>;
