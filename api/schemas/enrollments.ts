import { Type } from 'typebox';
import { DELIVERY_FAILURES, DELIVERY_STATUSES } from '../../db/entities/index.js';
import { pageQuery } from '../pagination.js';
import { NullableTimestamp, Timestamp, Uuid } from './common.js';

export const EnrollmentStatusSchema = Type.Union([
  Type.Literal('active'),
  Type.Literal('paused'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
  Type.Literal('failed'),
  Type.Literal('ineligible'),
]);

export const DeliveryStatusSchema = Type.Enum([...DELIVERY_STATUSES]);

export const DeliverySchema = Type.Object({
  id: Uuid,
  enrollmentId: Uuid,
  sequenceId: Uuid,
  contactId: Uuid,
  stepId: Type.String(),
  generation: Type.Integer(),
  kind: Type.Union([Type.Literal('first'), Type.Literal('resend')]),
  status: DeliveryStatusSchema,
  provider: Type.String(),
  providerMessageId: Type.Union([Type.String(), Type.Null()]),
  to: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  /** The provider's reason for a failure, or the bounce message. */
  error: Type.Union([Type.String(), Type.Null()]),
  /** D4: why it failed for good (see README "Behaviour"). */
  failureKind: Type.Union([Type.Enum([...DELIVERY_FAILURES]), Type.Null()]),
  createdAt: Timestamp,
  scheduledAt: NullableTimestamp,
  sentAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
  openedAt: NullableTimestamp,
  clickedAt: NullableTimestamp,
  bouncedAt: NullableTimestamp,
  complainedAt: NullableTimestamp,
  unsubscribedAt: NullableTimestamp,
});

export const EnrollmentSchema = Type.Object({
  id: Uuid,
  sequenceId: Uuid,
  contactId: Uuid,
  generation: Type.Integer(),
  status: EnrollmentStatusSchema,
  workflowId: Type.String(),
  currentStepId: Type.Union([Type.String(), Type.Null()]),
  currentStepIndex: Type.Union([Type.Integer(), Type.Null()]),
  dueAt: NullableTimestamp,
  pausedAt: NullableTimestamp,
  endedAt: NullableTimestamp,
  endReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const EnrollmentWithDeliveriesSchema = Type.Intersect([
  EnrollmentSchema,
  Type.Object({ deliveries: Type.Array(DeliverySchema) }),
]);

export const EnrollInput = Type.Object(
  { contactId: Uuid },
  { additionalProperties: false, examples: [{ contactId: '0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e' }] },
);
export const EnrollmentParams = Type.Object({ enrollmentId: Uuid }, { additionalProperties: false });
export const StepParams = Type.Object(
  { enrollmentId: Uuid, stepId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);
export const StepRequestResult = Type.Object({
  enrollmentId: Uuid,
  stepId: Type.String(),
  status: Type.Union([Type.Literal('skipped'), Type.Literal('resent'), Type.Literal('accepted')], {
    description:
      '`skipped` or `resent`: done. `accepted`: the enrollment does it next (a resend asked while paused goes once resumed).',
  }),
});
export const CancelInput = Type.Object(
  {
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Recorded as the end reason; default `stopped`.',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ reason: 'replied' }] },
);

export const EnrollmentListQuery = Type.Object(
  {
    sequenceId: Type.Optional(Uuid),
    contactId: Type.Optional(Uuid),
    status: Type.Optional(
      Type.Array(EnrollmentStatusSchema, {
        maxItems: 6,
        description: 'One or more statuses (repeat the parameter): `status=active&status=paused`.',
      }),
    ),
    ...pageQuery,
  },
  { additionalProperties: false },
);

export const DeliveryListQuery = Type.Object(
  {
    enrollmentId: Type.Optional(Uuid),
    sequenceId: Type.Optional(Uuid),
    contactId: Type.Optional(Uuid),
    status: Type.Optional(Type.Array(DeliveryStatusSchema, { maxItems: 7 })),
    ...pageQuery,
  },
  { additionalProperties: false },
);
