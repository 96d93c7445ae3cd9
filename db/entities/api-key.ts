import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty, idProperty } from './common.js';
import { Workspace } from './workspace.js';

/** An API key: shown once at creation, stored only as a SHA-256 hash, revocable. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  properties: {
    id: idProperty(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    name: p.string(),
    /** The first characters of the key, to recognise it in listings without revealing it. */
    prefix: p.string(),
    hash: p.string().unique(),
    createdAt: createdAtProperty(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type ApiKey = InferEntity<typeof ApiKey>;
