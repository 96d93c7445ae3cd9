import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { StepDefinition } from '../../workflows/plan.js';
import { idProperty } from './common.js';
import { Sequence } from './sequence.js';

/** An immutable snapshot of a sequence's steps, made at each publish (S2). */
export const SequenceVersion = defineEntity({
  name: 'SequenceVersion',
  uniques: [{ properties: ['sequence', 'version'] }],
  properties: {
    id: idProperty(),
    sequence: () => p.manyToOne(Sequence).mapToPk().deleteRule('cascade'),
    version: p.integer(),
    steps: p.json<StepDefinition[]>(),
    publishedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type SequenceVersion = InferEntity<typeof SequenceVersion>;
