/**
 * D6: what Resend's email events do to the ledger. One transaction per event: the event id
 * is recorded (a redelivery or replay of it changes nothing), the delivery's status and
 * timestamps move forward (never back: a late `delivered` does not undo a bounce), and a
 * bounce or complaint suppresses the contact and ends its enrollments (E12).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { appendEvent } from '../../activities/event-log.js';
import { Delivery, type DeliveryStatus, type Suppression } from '../../db/entities/index.js';
import { DELIVERY_TAG } from '../../email/sender.js';
import type { TemporalAccess } from '../context.js';
import { signalEndedWorkflows, suppressContactInTransaction, type SuppressionResult } from './suppression.js';

/** The part of a Resend webhook payload Nudge reads (https://resend.com/docs/dashboard/webhooks/event-types). */
export interface ResendEvent {
  type: string;
  created_at?: string;
  data?: {
    email_id?: string;
    tags?: Record<string, string> | { name: string; value: string }[];
    bounce?: { type?: string; subType?: string; message?: string };
    failed?: { reason?: string };
    click?: { link?: string };
  };
}

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored';

/** How far along a delivery is; an event never moves it back. */
// `failed` sits below `sent`: an attempt closed as outcome_unknown that the provider did
// deliver after all is corrected by its events.
const PROGRESS: Record<DeliveryStatus, number> = {
  skipped: 0,
  sending: 1,
  failed: 2,
  sent: 3,
  delivered: 4,
  bounced: 5,
  complained: 6,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function deliveryTag(tags: NonNullable<ResendEvent['data']>['tags']): string | null {
  const value = Array.isArray(tags)
    ? tags.find((tag) => tag.name === DELIVERY_TAG)?.value
    : tags?.[DELIVERY_TAG];
  return value && UUID.test(value) ? value : null;
}

export async function applyResendEvent(
  deps: { orm: MikroORM; temporal: TemporalAccess; logger: FastifyBaseLogger },
  eventId: string,
  event: ResendEvent,
): Promise<{ outcome: WebhookOutcome; deliveryId: string | null }> {
  const at = eventTime(event);
  let ended: SuppressionResult['endedWorkflows'] = [];
  const result = await deps.orm.em.fork().transactional(async (tx) => {
    const emailId = event.data?.email_id ?? null;
    const tagged = deliveryTag(event.data?.tags);
    // The tag finds the row even when the send crashed before it stored the provider's id.
    const found =
      (tagged ? await tx.findOne(Delivery, tagged) : null) ??
      (emailId ? await tx.findOne(Delivery, { providerMessageId: emailId }) : null);

    const [claimed] = await tx
      .getConnection()
      .execute<{ id: string }[]>(
        'insert into "webhook_event" ("id", "provider", "type", "email_id", "delivery_id", "received_at") values (?, ?, ?, ?, ?, now()) on conflict do nothing returning "id"',
        [eventId, 'resend', event.type, emailId, found?.id ?? null],
        'all',
        tx.getTransactionContext(),
      );
    if (!claimed) return { outcome: 'duplicate' as const, deliveryId: found?.id ?? null };
    if (!found) return { outcome: 'ignored' as const, deliveryId: null };

    const suppression = suppressionFor(event);
    if (suppression) {
      // E12, in this transaction: the contact row first, as every writer locks it.
      const suppressed = await suppressContactInTransaction(tx, found.contact, suppression, {
        via: 'resend_webhook',
        deliveryId: found.id,
      });
      ended = suppressed.endedWorkflows;
    }
    const delivery = await tx.findOneOrFail(Delivery, found.id, { refresh: true });
    applyToDelivery(delivery, event, at);
    if (!delivery.providerMessageId && emailId) delivery.providerMessageId = emailId;
    appendEvent(tx, {
      workspace: delivery.workspace,
      sequence: delivery.sequence,
      contact: delivery.contact,
      enrollment: delivery.enrollment,
      type: `delivery.${event.type.replace(/^email\./, '')}`,
      data: {
        deliveryId: delivery.id,
        stepId: delivery.stepId,
        eventId,
        ...(event.data?.bounce ? { bounce: event.data.bounce } : {}),
        ...(event.data?.click?.link ? { link: event.data.click.link } : {}),
      },
    });
    return { outcome: 'processed' as const, deliveryId: delivery.id };
  });
  if (ended.length > 0) await signalEndedWorkflows(deps.temporal, ended, deps.logger);
  return result;
}

/** A bounce (unless Resend calls it transient) or a complaint suppresses the contact. */
function suppressionFor(event: ResendEvent): Suppression | null {
  if (event.type === 'email.complained') return 'complained';
  if (event.type === 'email.bounced' && event.data?.bounce?.type !== 'Transient') return 'bounced';
  return null;
}

function advance(delivery: Delivery, status: DeliveryStatus, at: Date): void {
  delivery.sentAt ??= at; // any news of the email means the provider took it
  if (PROGRESS[status] <= PROGRESS[delivery.status]) return;
  if (delivery.status === 'failed') delivery.failureKind = null;
  delivery.status = status;
}

function applyToDelivery(delivery: Delivery, event: ResendEvent, at: Date): void {
  switch (event.type) {
    case 'email.sent':
      advance(delivery, 'sent', at);
      break;
    case 'email.delivered':
      delivery.deliveredAt ??= at;
      advance(delivery, 'delivered', at);
      break;
    case 'email.bounced':
      delivery.bouncedAt ??= at;
      delivery.error = event.data?.bounce?.message ?? 'bounced';
      advance(delivery, 'bounced', at);
      break;
    case 'email.complained':
      delivery.complainedAt ??= at;
      advance(delivery, 'complained', at);
      break;
    case 'email.opened':
      delivery.openedAt ??= at;
      break;
    case 'email.clicked':
      delivery.clickedAt ??= at;
      break;
    case 'email.failed':
      if (delivery.status === 'sending' || delivery.status === 'sent') {
        delivery.status = 'failed';
        delivery.failureKind = 'provider_failed';
        delivery.error = event.data?.failed?.reason ?? 'failed';
      }
      break;
    default:
      // delivery_delayed, scheduled, …: recorded in the event log only.
      break;
  }
}

function eventTime(event: ResendEvent): Date {
  const at = event.created_at ? new Date(event.created_at) : null;
  return at && !Number.isNaN(at.getTime()) ? at : new Date();
}
