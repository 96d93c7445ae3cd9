import { Type, type Static } from 'typebox';
import { pageQuery } from '../pagination.js';
import { IanaTimeZone, NullableTimestamp, Tag, Tags, Timestamp, Uuid } from './common.js';
import { EnrollmentSchema } from './enrollments.js';

export const SuppressionSchema = Type.Union([
  Type.Literal('unsubscribed'),
  Type.Literal('bounced'),
  Type.Literal('complained'),
  Type.Null(),
]);

export const ContactInput = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] }),
    name: Type.Optional(Type.String({ maxLength: 200, examples: ['Ada Lovelace'] })),
    timeZone: Type.Optional(IanaTimeZone),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown())),
    tags: Type.Optional(Tags),
  },
  {
    additionalProperties: false,
    examples: [
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        timeZone: 'Europe/London',
        attributes: { company: 'Analytical Engines Ltd', plan: 'trial' },
        tags: ['lead'],
      },
    ],
  },
);
export type ContactInput = Static<typeof ContactInput>;

export const ContactSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  timeZone: Type.Union([Type.String(), Type.Null()]),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  tags: Type.Array(Type.String()),
  suppression: SuppressionSchema,
  suppressedAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ContactPatch = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    timeZone: Type.Optional(Type.Union([IanaTimeZone, Type.Null()])),
    attributes: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
        description: 'Merged key by key into the attributes; a key set to null is removed.',
      }),
    ),
    tags: Type.Optional(Tags),
  },
  {
    additionalProperties: false,
    description: 'Fields left out stay as they are.',
    examples: [
      {
        timeZone: 'America/New_York',
        attributes: { plan: 'pro', trial_ends: null },
        tags: ['lead', 'customer'],
      },
    ],
  },
);
export type ContactPatch = Static<typeof ContactPatch>;

export const ContactParams = Type.Object({ contactId: Uuid }, { additionalProperties: false });

export const ContactListQuery = Type.Object(
  {
    tag: Type.Optional(Tag),
    suppression: Type.Optional(
      Type.Enum(['none', 'any', 'unsubscribed', 'bounced', 'complained'], {
        description: '`none`: reachable contacts; `any`: suppressed ones; or one suppression reason.',
      }),
    ),
    activeInSequence: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Only contacts with an active or paused enrollment in this sequence.',
      }),
    ),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    ...pageQuery,
  },
  { additionalProperties: false },
);

export const StoppedContactSchema = Type.Object(
  { ended: Type.Array(EnrollmentSchema, { description: 'The live enrollments this request cancelled.' }) },
  { additionalProperties: false },
);
