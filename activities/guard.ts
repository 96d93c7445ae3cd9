/**
 * D2, the send-time guard: decided right before sending, inside the send's transaction,
 * from rows locked against concurrent pauses, stops and suppressions.
 */
import type { Contact, Enrollment, Sequence } from '../db/entities/index.js';
import type { SendStepResult } from './types.js';

export type GuardRefusal = Exclude<SendStepResult, { outcome: 'sent' } | { outcome: 'failed' }>;

export function checkSendGuard(
  sequence: Pick<Sequence, 'status' | 'revision'> | null,
  enrollment: Pick<Enrollment, 'status' | 'generation' | 'endReason'> | null,
  contact: Pick<Contact, 'suppression'> | null,
  generation: number,
  stepIsLive: boolean,
): GuardRefusal | null {
  if (!enrollment || !sequence || !contact) {
    return { outcome: 'ended', status: 'cancelled', reason: 'record_missing' };
  }
  if (enrollment.generation !== generation) {
    return { outcome: 'ended', status: 'cancelled', reason: 'superseded' };
  }
  if (sequence.status === 'deleted')
    return { outcome: 'ended', status: 'cancelled', reason: 'sequence_deleted' };
  if (
    enrollment.status === 'cancelled' ||
    enrollment.status === 'completed' ||
    enrollment.status === 'failed'
  ) {
    return { outcome: 'ended', status: enrollment.status, reason: enrollment.endReason ?? 'stopped' };
  }
  if (enrollment.status === 'ineligible') {
    return { outcome: 'ended', status: 'ineligible', reason: enrollment.endReason ?? 'ineligible' };
  }
  if (contact.suppression) {
    return { outcome: 'ended', status: 'cancelled', reason: `contact_${contact.suppression}` };
  }
  if (sequence.status !== 'active') {
    const reason = `sequence_${sequence.status}`;
    return { outcome: 'held', source: 'sequence', reason, revision: sequence.revision };
  }
  if (enrollment.status === 'paused')
    return { outcome: 'held', source: 'enrollment', reason: 'enrollment_paused' };
  if (!stepIsLive) return { outcome: 'step_removed', reason: 'step_not_in_live_version' };
  return null;
}
