import { Type, type Static } from 'typebox';
import { Uuid } from './common.js';

export const PreviewParams = Type.Object(
  {
    sequenceId: Uuid,
    stepId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', examples: ['welcome'] }),
  },
  { additionalProperties: false },
);

export const PreviewQuery = Type.Object(
  {
    contactId: Type.Optional({
      ...Uuid,
      description:
        'Render for this contact; without it, for a sample contact (sample@example.com, "Sample Contact").',
    }),
    version: Type.Optional(
      Type.Union([Type.Literal('draft'), Type.Literal('live')], {
        default: 'draft',
        description: 'The draft steps being edited (default), or the live version that sends.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PreviewQuery = Static<typeof PreviewQuery>;

export const PreviewSchema = Type.Object({
  sequenceId: Uuid,
  stepId: Type.String(),
  version: Type.Union([Type.Literal('draft'), Type.Literal('live')]),
  contactId: Type.Union([Uuid, Type.Null()]),
  from: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
  headers: Type.Record(Type.String(), Type.String(), {
    description: 'Headers the email is sent with: List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).',
  }),
});

const Count = Type.Integer({ minimum: 0 });
const Counts = {
  sent: Type.Integer({ minimum: 0, description: 'Accepted by the provider.' }),
  delivered: Count,
  bounced: Count,
  complained: Count,
  opened: Type.Integer({ minimum: 0, description: 'Emails opened at least once.' }),
  clicked: Type.Integer({ minimum: 0, description: 'Emails with at least one link clicked.' }),
  unsubscribed: Type.Integer({
    minimum: 0,
    description: "Recipients who used this email's unsubscribe link.",
  }),
  failed: Type.Integer({ minimum: 0, description: 'Refused by the provider or not sent (see deliveries).' }),
};

export const SequenceStatsSchema = Type.Object({
  sequenceId: Uuid,
  totals: Type.Object(Counts),
  steps: Type.Array(
    Type.Object({
      stepId: Type.String(),
      name: Type.Union([Type.String(), Type.Null()]),
      live: Type.Boolean({ description: 'False for a step removed since emails were sent from it.' }),
      ...Counts,
    }),
  ),
});
