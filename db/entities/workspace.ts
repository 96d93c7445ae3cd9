import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty, idProperty } from './common.js';

/** A tenant. Every row and every API key belongs to exactly one workspace. */
export const Workspace = defineEntity({
  name: 'Workspace',
  properties: {
    id: idProperty(),
    name: p.string(),
    createdAt: createdAtProperty(),
  },
});
export type Workspace = InferEntity<typeof Workspace>;
