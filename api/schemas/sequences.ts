import { Type, type Static } from 'typebox';
import { pageQuery } from '../pagination.js';
import { IanaTimeZone, IsoDuration, NullableTimestamp, Tag, Tags, Timestamp, Uuid } from './common.js';

export const StepInput = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
    name: Type.String({ minLength: 1, maxLength: 200, examples: ['Welcome'] }),
    delay: IsoDuration,
    expiresAfter: Type.Optional(Type.Union([IsoDuration, Type.Null()])),
    subject: Type.String({
      minLength: 1,
      maxLength: 998,
      examples: ['Welcome, {{ contact.first_name | default: "there" }}'],
    }),
    html: Type.String({ minLength: 1, maxLength: 500_000 }),
    text: Type.Optional(Type.Union([Type.String({ maxLength: 500_000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type StepInput = Static<typeof StepInput>;

export const SendWindowSchema = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
    }),
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', examples: ['09:00'] }),
    end: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', examples: ['17:00'] }),
  },
  {
    additionalProperties: false,
    description: 'Days are ISO weekdays (1 = Monday), hours in the contact time zone.',
  },
);

const sequenceSettings = {
  triggerTags: Type.Optional(Tags),
  exitTags: Type.Optional(Tags),
  activeTag: Type.Optional(Type.Union([Tag, Type.Null()])),
  sendWindow: Type.Optional(Type.Union([SendWindowSchema, Type.Null()])),
  timeZone: Type.Optional(IanaTimeZone),
};

export const SequenceInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, examples: ['Onboarding'] }),
    steps: Type.Array(StepInput, { maxItems: 100 }),
    ...sequenceSettings,
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Onboarding',
        steps: [
          {
            id: 'welcome',
            name: 'Welcome',
            delay: 'PT0S',
            subject: 'Welcome, {{ contact.first_name | default: "there" }}',
            html: '<p>Glad to have you.</p>',
          },
          {
            id: 'follow-up',
            name: 'Follow-up',
            delay: 'P3D',
            subject: 'How is it going?',
            html: '<p>Any questions?</p>',
          },
        ],
        exitTags: ['replied'],
        sendWindow: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
        timeZone: 'Europe/Paris',
      },
    ],
  },
);
export type SequenceInput = Static<typeof SequenceInput>;

export const SequenceUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    steps: Type.Optional(
      Type.Array(StepInput, {
        maxItems: 100,
        description: 'Saved to the draft; `POST /sequences/{id}/publish` makes them live (S5).',
      }),
    ),
    ...sequenceSettings,
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      'Only the fields given change. Settings apply at once (a live sequence re-plans its enrollments); steps go to the draft.',
    examples: [
      { name: 'Onboarding (v2)', sendWindow: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' } },
    ],
  },
);
export type SequenceUpdate = Static<typeof SequenceUpdate>;

export const DeleteSequenceQuery = Type.Object(
  {
    purge: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Erase everything of the sequence: enrollments, deliveries, audit events and workflow histories.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const DeleteSequenceResult = Type.Object({
  sequenceId: Uuid,
  purged: Type.Boolean(),
  enrollmentsEnded: Type.Integer({ minimum: 0 }),
});

export const StepSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  delay: Type.String(),
  expiresAfter: Type.Union([Type.String(), Type.Null()]),
  subject: Type.String(),
  html: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
});

export const SequenceSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  status: Type.Union([
    Type.Literal('draft'),
    Type.Literal('active'),
    Type.Literal('paused'),
    Type.Literal('deleted'),
  ]),
  triggerTags: Type.Array(Type.String()),
  exitTags: Type.Array(Type.String()),
  activeTag: Type.Union([Type.String(), Type.Null()]),
  sendWindow: Type.Union([SendWindowSchema, Type.Null()]),
  timeZone: Type.String(),
  draftSteps: Type.Array(StepSchema),
  liveVersion: Type.Union([Type.Integer(), Type.Null()]),
  liveSteps: Type.Union([Type.Array(StepSchema), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deletedAt: NullableTimestamp,
});

export const SequenceParams = Type.Object({ sequenceId: Uuid }, { additionalProperties: false });

export const SequenceListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused')]), {
        maxItems: 3,
      }),
    ),
    ...pageQuery,
  },
  { additionalProperties: false },
);
