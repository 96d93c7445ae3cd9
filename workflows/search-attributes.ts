/**
 * Typed search attributes that let engineers filter enrollments in the Temporal UI, e.g.
 * `NudgeSequenceId = "…" AND NudgeEnrollmentStatus = "paused"`. The worker registers them
 * at start-up; the workflow keeps them current on every transition.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SequenceIdAttribute = defineSearchAttributeKey('NudgeSequenceId', SearchAttributeType.KEYWORD);
export const ContactIdAttribute = defineSearchAttributeKey('NudgeContactId', SearchAttributeType.KEYWORD);
export const ContactEmailAttribute = defineSearchAttributeKey(
  'NudgeContactEmail',
  SearchAttributeType.KEYWORD,
);
export const EnrollmentStatusAttribute = defineSearchAttributeKey(
  'NudgeEnrollmentStatus',
  SearchAttributeType.KEYWORD,
);
export const CurrentStepAttribute = defineSearchAttributeKey('NudgeCurrentStep', SearchAttributeType.INT);
export const NextSendTimeAttribute = defineSearchAttributeKey(
  'NudgeNextSendTime',
  SearchAttributeType.DATETIME,
);

export const nudgeSearchAttributes = [
  SequenceIdAttribute,
  ContactIdAttribute,
  ContactEmailAttribute,
  EnrollmentStatusAttribute,
  CurrentStepAttribute,
  NextSendTimeAttribute,
] as const;
