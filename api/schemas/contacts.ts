import { Type, type Static } from 'typebox';
import { IanaTimeZone, NullableTimestamp, Tags, Timestamp, Uuid } from './common.js';

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
  { additionalProperties: false },
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

export const ContactParams = Type.Object({ contactId: Uuid }, { additionalProperties: false });
