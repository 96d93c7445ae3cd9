import { Type, type Static } from 'typebox';
import { Uuid } from './common.js';
import { ContactInput } from './contacts.js';

export const MAX_BULK_CONTACTS = 10_000;

export const BulkContactById = Type.Object(
  { contactId: Uuid },
  { additionalProperties: false, description: 'An existing contact, by id.' },
);

export const BulkContactByEmail = Type.Object(ContactInput.properties, {
  additionalProperties: false,
  description:
    'A contact by email: created if new, else updated (given fields replace, `attributes` are merged, `tags` are added).',
});

export const BulkEnrollInput = Type.Object(
  {
    contacts: Type.Array(Type.Union([BulkContactById, BulkContactByEmail]), {
      minItems: 1,
      maxItems: MAX_BULK_CONTACTS,
      description:
        'Up to 10,000 contacts. An item that does not match either shape is reported as `invalid` in ' +
        'the results (with the offending `field`), not refused with the whole request.',
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        contacts: [
          { contactId: '0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e' },
          { email: 'ada@example.com', name: 'Ada Lovelace', timeZone: 'Europe/London', tags: ['lead'] },
        ],
      },
    ],
  },
);
export type BulkEnrollInput = Static<typeof BulkEnrollInput>;

/** What the route validates up front: the envelope. Items are validated one by one. */
export const BulkEnvelope = {
  type: 'object',
  required: ['contacts'],
  additionalProperties: false,
  properties: {
    contacts: { type: 'array', minItems: 1, maxItems: MAX_BULK_CONTACTS },
  },
} as const;

export const BULK_STATUSES = ['enrolled', 'already_active', 'ineligible', 'invalid', 'failed'] as const;
export type BulkStatus = (typeof BULK_STATUSES)[number];

export const BulkResultSchema = Type.Object({
  index: Type.Integer({ description: 'Position of the item in `contacts`.' }),
  status: Type.Enum([...BULK_STATUSES], {
    description:
      '`enrolled`: started at step 1 (E1). `already_active`: was active or paused in the sequence, ' +
      'nothing changed (E2). `ineligible`: suppressed (E12), recorded as an ineligible enrollment. ' +
      '`invalid`: the item is wrong (see `field`). `failed`: a transient failure; nothing was written ' +
      'for this contact and retrying is safe.',
  }),
  contactId: Type.Union([Uuid, Type.Null()]),
  enrollmentId: Type.Union([Uuid, Type.Null()]),
  contactCreated: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'For items by email: whether the contact was created by this request.',
  }),
  reason: Type.Union([Type.String(), Type.Null()], {
    description:
      'Why not enrolled: `contact_unsubscribed|bounced|complained`, `validation`, `contact_not_found`, ' +
      '`duplicate`, `workflow_start_failed`, `concurrent_change`, `sequence_paused` or `sequence_deleted` (it ' +
      'was paused or deleted while the request ran), `not_in_sequence` (re-enroll).',
  }),
  field: Type.Union([Type.String(), Type.Null()], {
    description: 'For `invalid`: JSON pointer to the offending field, e.g. `/body/contacts/3/email`.',
  }),
  detail: Type.Union([Type.String(), Type.Null()]),
});
export type BulkResult = Static<typeof BulkResultSchema>;

export const BulkEnrollResponse = Type.Object({
  results: Type.Array(BulkResultSchema),
  summary: Type.Object({
    enrolled: Type.Integer(),
    alreadyActive: Type.Integer(),
    ineligible: Type.Integer(),
    invalid: Type.Integer(),
    failed: Type.Integer(),
  }),
});

export const ReEnrollInput = Type.Union(
  [
    Type.Object(
      { contactIds: Type.Array(Uuid, { minItems: 1, maxItems: MAX_BULK_CONTACTS }) },
      { additionalProperties: false, description: 'These contacts.' },
    ),
    Type.Object(
      { all: Type.Literal(true) },
      { additionalProperties: false, description: 'Everyone in the sequence not active in it now.' },
    ),
  ],
  { examples: [{ contactIds: ['0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e'] }, { all: true }] },
);

export const ReEnrollResponse = Type.Object({
  ...BulkEnrollResponse.properties,
  remaining: Type.Integer({
    minimum: 0,
    description: 'For `all`: contacts still to re-enroll (call again); 0 for a list.',
  }),
});
