/** The contract of a sequence fan-out (workflows/sequence-fanout.ts), shared with the API. */

/**
 * What the enrollments are told: `pause`/`resume` hold or release their pending step,
 * `changed` re-plans from the live version, `cancel` ends them (the sequence was deleted),
 * `purge` also erases their workflow histories.
 */
export type SequenceFanOutAction = 'pause' | 'resume' | 'changed' | 'cancel' | 'purge';

export interface SequenceFanOutInput {
  workspaceId: string;
  sequenceId: string;
  action: SequenceFanOutAction;
  /** The sequence's revision after the change (orders overlapping fan-outs). */
  revision: number;
}

export interface SequenceFanOutResult {
  /** Workflows told. */
  reached: number;
  /** Workflows that had ended already: nothing to tell. */
  gone: number;
}

/** Reason recorded on enrollments ended by their sequence's deletion (S6). */
export const SEQUENCE_DELETED = 'sequence_deleted';
