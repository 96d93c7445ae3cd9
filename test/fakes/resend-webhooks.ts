// Resend webhook events as Resend sends them: Svix-signed (Standard Webhooks) JSON bodies shaped like
// https://resend.com/docs/dashboard/webhooks/event-types. Signing uses the same `standardwebhooks`
// library the resend SDK verifies with, so a signature made here is one `resend.webhooks.verify` accepts.
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export type ResendEmailEventType =
  | 'email.sent'
  | 'email.delivered'
  | 'email.delivery_delayed'
  | 'email.complained'
  | 'email.bounced'
  | 'email.opened'
  | 'email.clicked'
  | 'email.failed';

export interface ResendBounce {
  message: string;
  subType: string;
  type: string;
}

export interface ResendClick {
  ipAddress: string;
  link: string;
  timestamp: string;
  userAgent: string;
}

/** `{ type, created_at, data }`; `data.tags` is an object here although sends take an array of {name, value}. */
export interface ResendEmailEvent {
  type: ResendEmailEventType;
  created_at: string;
  data: {
    created_at: string;
    email_id: string;
    message_id: string;
    from: string;
    to: string[];
    subject: string;
    tags?: Record<string, string>;
    bounce?: ResendBounce;
    click?: ResendClick;
    failed?: { reason: string };
  };
}

/** The email fields an event copies. */
export interface EventSource {
  id: string;
  from: string;
  to: string[];
  subject: string;
  tags?: { name: string; value: string }[];
  receivedAt: number;
}

export interface EventDetails {
  /** When the event happened; defaults to now. */
  at?: Date;
  bounce?: Partial<ResendBounce>;
  click?: Partial<ResendClick>;
  failedReason?: string;
}

/** Headers carry both spellings: Resend's docs read `svix-*`; Standard Webhooks names them `webhook-*`. */
export interface SignedWebhook {
  body: string;
  headers: Record<string, string>;
}

export interface SignOptions {
  /** Message id, stable across redeliveries of one event; defaults to a fresh `msg_…`. */
  id?: string;
  /** A Date, or Unix seconds; defaults to now. Verifiers reject timestamps more than 5 minutes off. */
  timestamp?: Date | number;
}

/** A fresh signing secret in Resend's format (`whsec_` + base64). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export function signResendWebhook(
  secret: string,
  payload: object | string,
  options: SignOptions = {},
): SignedWebhook {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const id = options.id ?? `msg_${randomUUID().replaceAll('-', '')}`;
  const timestamp =
    options.timestamp === undefined
      ? new Date()
      : typeof options.timestamp === 'number'
        ? new Date(options.timestamp * 1000)
        : options.timestamp;
  const signature = new Webhook(secret).sign(id, timestamp, body);
  const seconds = String(Math.floor(timestamp.getTime() / 1000));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': seconds,
      'webhook-signature': signature,
      'svix-id': id,
      'svix-timestamp': seconds,
      'svix-signature': signature,
    },
  };
}

export function buildResendEmailEvent(
  type: ResendEmailEventType,
  email: EventSource,
  details: EventDetails = {},
): ResendEmailEvent {
  const at = details.at ?? new Date();
  const event: ResendEmailEvent = {
    type,
    created_at: at.toISOString(),
    data: {
      created_at: new Date(email.receivedAt).toISOString(),
      email_id: email.id,
      message_id: `<${email.id}@resend.fake>`,
      from: email.from,
      to: email.to,
      subject: email.subject,
      ...(email.tags && { tags: Object.fromEntries(email.tags.map((tag) => [tag.name, tag.value])) }),
    },
  };
  if (type === 'email.bounced') {
    event.data.bounce = {
      type: 'Permanent',
      subType: 'General',
      message:
        "The recipient's email provider sent a hard bounce message, and Resend suppressed this address.",
      ...details.bounce,
    };
  }
  if (type === 'email.clicked') {
    event.data.click = {
      ipAddress: '127.0.0.1',
      link: 'https://example.com/',
      timestamp: at.toISOString(),
      userAgent: 'Mozilla/5.0 (resend-fake)',
      ...details.click,
    };
  }
  if (type === 'email.failed') event.data.failed = { reason: details.failedReason ?? 'reached_daily_quota' };
  return event;
}

export interface WebhookDeliveryResult {
  status: number;
  body: string;
  event: ResendEmailEvent;
  headers: Record<string, string>;
}

/** Posts a signed event to a receiver, as Resend's webhook sender would. */
export async function postResendWebhook(
  targetUrl: string,
  secret: string,
  event: ResendEmailEvent,
  options: SignOptions = {},
): Promise<WebhookDeliveryResult> {
  const signed = signResendWebhook(secret, event, options);
  const response = await fetch(targetUrl, { method: 'POST', headers: signed.headers, body: signed.body });
  return { status: response.status, body: await response.text(), event, headers: signed.headers };
}
