import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty, idProperty, updatedAtProperty } from './common.js';
import { Contact } from './contact.js';
import { Sequence } from './sequence.js';
import { Workspace } from './workspace.js';

export const ENROLLMENT_STATUSES = [
  'active',
  'paused',
  'completed',
  'cancelled',
  'failed',
  'ineligible',
] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];
/** Statuses that count as "in the sequence" for E2/E10; a partial unique index enforces one. */
export const LIVE_ENROLLMENT_STATUSES: readonly EnrollmentStatus[] = ['active', 'paused'];

/**
 * One contact's pass through a sequence. The Temporal workflow owns progress; this row
 * mirrors it (through activities) for listing and search.
 */
export const Enrollment = defineEntity({
  name: 'Enrollment',
  uniques: [{ properties: ['sequence', 'contact', 'generation'] }],
  indexes: [{ properties: ['workspace', 'status'] }],
  properties: {
    id: idProperty(),
    workspace: () => p.manyToOne(Workspace).mapToPk(),
    sequence: () => p.manyToOne(Sequence).mapToPk().deleteRule('cascade'),
    contact: () => p.manyToOne(Contact).mapToPk().deleteRule('cascade'),
    generation: p.integer(),
    status: p.enum(ENROLLMENT_STATUSES).default('active'),
    workflowId: p.string(),
    runId: p.string().nullable(),
    currentStepId: p.string().nullable(),
    currentStepIndex: p.integer().nullable(),
    dueAt: p.datetime().nullable(),
    pausedAt: p.datetime().nullable(),
    endedAt: p.datetime().nullable(),
    endReason: p.string().nullable(),
    createdAt: createdAtProperty(),
    updatedAt: updatedAtProperty(),
  },
});
export type Enrollment = InferEntity<typeof Enrollment>;
