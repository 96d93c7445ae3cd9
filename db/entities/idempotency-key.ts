import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty } from './common.js';
import { Workspace } from './workspace.js';

export const IDEMPOTENCY_STATES = ['in_progress', 'completed'] as const;

/**
 * A POST made with an `Idempotency-Key` header. The row is claimed before the handler runs
 * (the primary key makes concurrent duplicates lose the race) and holds the response once
 * the first request has answered, so a retry replays it instead of acting again.
 */
export const IdempotencyKey = defineEntity({
  name: 'IdempotencyKey',
  indexes: [{ properties: ['createdAt'] }],
  properties: {
    workspace: () => p.manyToOne(Workspace).mapToPk().primary().deleteRule('cascade'),
    key: p.string().primary(),
    /** SHA-256 of method, path and canonical JSON body: the same key with another request is refused. */
    requestHash: p.string(),
    method: p.string(),
    path: p.text(),
    state: p.enum(IDEMPOTENCY_STATES),
    /** When the current attempt claimed the key; a claim left by a crashed process goes stale. */
    lockedAt: p.datetime(),
    responseStatus: p.integer().nullable(),
    responseHeaders: p.json<Record<string, string>>().nullable(),
    responseBody: p.text().nullable(),
    createdAt: createdAtProperty(),
    completedAt: p.datetime().nullable(),
  },
});
export type IdempotencyKey = InferEntity<typeof IdempotencyKey>;
