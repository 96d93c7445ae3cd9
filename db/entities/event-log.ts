import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty } from './common.js';

/** Append-only audit of every enrollment transition and delivery. */
export const EventLog = defineEntity({
  name: 'EventLog',
  indexes: [{ properties: ['enrollment'] }, { properties: ['sequence'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    // Plain ids, not foreign keys: the audit outlives what it describes (S6), until a purge.
    workspace: p.uuid().fieldName('workspace_id'),
    sequence: p.uuid().fieldName('sequence_id').nullable(),
    contact: p.uuid().fieldName('contact_id').nullable(),
    enrollment: p.uuid().fieldName('enrollment_id').nullable(),
    type: p.string(),
    data: p.json<Record<string, unknown>>().defaultRaw("'{}'"),
    createdAt: createdAtProperty(),
  },
});
export type EventLog = InferEntity<typeof EventLog>;
