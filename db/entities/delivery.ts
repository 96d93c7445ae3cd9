import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAtProperty, idProperty, updatedAtProperty } from './common.js';
import { Contact } from './contact.js';
import { Enrollment } from './enrollment.js';
import { Sequence } from './sequence.js';
import { Workspace } from './workspace.js';

export const DELIVERY_KINDS = ['first', 'resend'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];
export const DELIVERY_STATUSES = [
  'sending',
  'sent',
  'delivered',
  'bounced',
  'complained',
  'failed',
  'skipped',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/**
 * Why a delivery failed for good (D4): the provider refused the address (the enrollment
 * ends) or the content (the step is skipped); or an attempt that may have reached the
 * provider could no longer be retried safely, so it is not sent again (D1: at most once).
 */
export const DELIVERY_FAILURES = [
  'invalid_recipient',
  'rejected_content',
  'outcome_unknown',
  'provider_failed',
] as const;
export type DeliveryFailure = (typeof DELIVERY_FAILURES)[number];

/**
 * The delivery ledger (D1). The row is written before the provider is called and is
 * unique per (enrollment, generation, step, kind); the provider's Idempotency-Key is
 * derived from it, so a retried or crashed send can never become a second email.
 */
export const Delivery = defineEntity({
  name: 'Delivery',
  uniques: [{ properties: ['enrollment', 'generation', 'stepId', 'kind'] }],
  indexes: [{ properties: ['sequence', 'stepId'] }, { properties: ['providerMessageId'] }],
  properties: {
    id: idProperty(),
    workspace: () => p.manyToOne(Workspace).mapToPk(),
    enrollment: () => p.manyToOne(Enrollment).mapToPk().deleteRule('cascade'),
    sequence: () => p.manyToOne(Sequence).mapToPk().deleteRule('cascade'),
    contact: () => p.manyToOne(Contact).mapToPk().deleteRule('cascade'),
    generation: p.integer(),
    stepId: p.string(),
    kind: p.enum(DELIVERY_KINDS),
    status: p.enum(DELIVERY_STATUSES),
    idempotencyKey: p.string().unique(),
    /** `resend`, or `outbox` when no provider key is configured (development). */
    provider: p.string(),
    providerMessageId: p.string().nullable(),
    fromEmail: p.string().nullable(),
    toEmail: p.string(),
    /** Headers handed to the provider (List-Unsubscribe, …): a retry sends the very same request. */
    headers: p.json<Record<string, string>>().nullable(),
    subject: p.text().nullable(),
    html: p.text().nullable(),
    text: p.text().nullable(),
    /** The provider's reason for a failure, or the last bounce message. */
    error: p.text().nullable(),
    failureKind: p.enum(DELIVERY_FAILURES).nullable(),
    /** When the workflow decided the step goes (its due time, or the next valid send time). */
    scheduledAt: p.datetime().nullable(),
    sentAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    openedAt: p.datetime().nullable(),
    clickedAt: p.datetime().nullable(),
    bouncedAt: p.datetime().nullable(),
    complainedAt: p.datetime().nullable(),
    /** The recipient used this email's unsubscribe link (D7). */
    unsubscribedAt: p.datetime().nullable(),
    createdAt: createdAtProperty(),
    updatedAt: updatedAtProperty(),
  },
});
export type Delivery = InferEntity<typeof Delivery>;
