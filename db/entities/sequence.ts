import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { SendWindow } from '../../workflows/send-window.js';
import type { StepDefinition } from '../../workflows/plan.js';
import { createdAtProperty, idProperty, updatedAtProperty } from './common.js';
import { Workspace } from './workspace.js';

export const SEQUENCE_STATUSES = ['draft', 'active', 'paused', 'deleted'] as const;
export type SequenceStatus = (typeof SEQUENCE_STATUSES)[number];

/**
 * A sequence and its working copy. `draftSteps` is what the author edits (S1: saving
 * never loses work); publishing snapshots it into an immutable SequenceVersion (S2).
 */
export const Sequence = defineEntity({
  name: 'Sequence',
  properties: {
    id: idProperty(),
    workspace: () => p.manyToOne(Workspace).mapToPk(),
    name: p.string(),
    status: p.enum(SEQUENCE_STATUSES).default('draft'),
    triggerTags: p.array().defaultRaw("'{}'"),
    exitTags: p.array().defaultRaw("'{}'"),
    /** Tag kept on a contact while it is active in this sequence (E11). */
    activeTag: p.string().nullable(),
    sendWindow: p.json<SendWindow>().nullable(),
    /** Fallback time zone for contacts without one (T1). */
    timeZone: p.string().default('UTC'),
    draftSteps: p.json<StepDefinition[]>(),
    liveVersion: p.integer().nullable(),
    /**
     * Bumped by every change enrollments must hear of (pause, resume, publish, settings): it
     * orders the fan-outs of successive changes (workflows/messages.ts PauseRequest).
     */
    revision: p.integer().default(0),
    createdAt: createdAtProperty(),
    updatedAt: updatedAtProperty(),
    deletedAt: p.datetime().nullable(),
  },
});
export type Sequence = InferEntity<typeof Sequence>;
