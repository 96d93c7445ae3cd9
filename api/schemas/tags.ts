/** Tags on a contact and what applying them did (E6 triggers, E11 exit goals). */
import { Type } from 'typebox';
import { Tag, Uuid } from './common.js';
import { ContactSchema } from './contacts.js';

export const AddTagsInput = Type.Object(
  { tags: Type.Array(Tag, { minItems: 1, maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false, examples: [{ tags: ['trial-started'] }] },
);

export const ContactTagParams = Type.Object({ contactId: Uuid, tag: Tag }, { additionalProperties: false });

export const TriggerOutcomeSchema = Type.Object(
  {
    sequenceId: Uuid,
    result: Type.Enum(['enrolled', 'already_active', 'ineligible', 'refused'], {
      description:
        '`enrolled` from step 1 (E1, E6); `already_active`: its live enrollment is untouched (E2); ' +
        '`ineligible`: suppressed, recorded (E12); `refused`: the sequence is paused, the attempt recorded (S3).',
    }),
    enrollmentId: Type.Union([Uuid, Type.Null()], { description: 'Null when `refused`.' }),
    reason: Type.Union([Type.String(), Type.Null()], {
      description: '`contact_<suppression>` when ineligible, `sequence_paused` when refused.',
    }),
  },
  { additionalProperties: false },
);

export const GoalOutcomeSchema = Type.Object(
  { sequenceId: Uuid, enrollmentId: Uuid },
  {
    additionalProperties: false,
    description: 'An enrollment an exit tag ended `completed` (reason `goal`).',
  },
);

/** The contact as GET shows it, plus what the tags this request applied set off. */
export const TaggedContactSchema = Type.Intersect([
  ContactSchema,
  Type.Object({
    triggered: Type.Array(TriggerOutcomeSchema, {
      description: 'One per active or paused sequence a tag applied here triggers on.',
    }),
    completed: Type.Array(GoalOutcomeSchema, {
      description: 'Live enrollments ended by an exit tag applied here (processed before triggers).',
    }),
  }),
]);
