import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty, idProperty, updatedAtProperty } from './common.js';
import { Workspace } from './workspace.js';

export const SUPPRESSIONS = ['unsubscribed', 'bounced', 'complained'] as const;
export type Suppression = (typeof SUPPRESSIONS)[number];

export const Contact = defineEntity({
  name: 'Contact',
  uniques: [{ properties: ['workspace', 'email'] }],
  properties: {
    id: idProperty(),
    workspace: () => p.manyToOne(Workspace).mapToPk(),
    /** Stored lower-cased so uniqueness per workspace is case-insensitive. */
    email: p.string(),
    name: p.string().nullable(),
    timeZone: p.string().nullable(),
    attributes: p.json<Record<string, unknown>>().defaultRaw("'{}'"),
    tags: p.array().defaultRaw("'{}'"),
    suppression: p.enum(SUPPRESSIONS).nullable(),
    suppressedAt: p.datetime().nullable(),
    createdAt: createdAtProperty(),
    updatedAt: updatedAtProperty(),
  },
});
export type Contact = InferEntity<typeof Contact>;
