import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from './common.js';

export const EnrollmentStatusSchema = Type.Union([
  Type.Literal('active'),
  Type.Literal('paused'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
  Type.Literal('failed'),
  Type.Literal('ineligible'),
]);

export const DeliverySchema = Type.Object({
  id: Uuid,
  stepId: Type.String(),
  generation: Type.Integer(),
  kind: Type.Union([Type.Literal('first'), Type.Literal('resend')]),
  status: Type.String(),
  provider: Type.String(),
  providerMessageId: Type.Union([Type.String(), Type.Null()]),
  to: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  scheduledAt: NullableTimestamp,
  sentAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
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

export const EnrollInput = Type.Object({ contactId: Uuid }, { additionalProperties: false });
export const EnrollmentParams = Type.Object({ enrollmentId: Uuid }, { additionalProperties: false });
export const CancelInput = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);
