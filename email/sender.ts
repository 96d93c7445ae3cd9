/** How Nudge hands an email to a provider, and how the provider's answer is classified (D4). */

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text?: string;
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
}

export type SendOutcome =
  | { ok: true; providerMessageId: string }
  /** Retrying may succeed: network, 5xx, 429 (with the provider's retry-after), auth misconfiguration. */
  | { ok: false; kind: 'transient'; reason: string; retryAfterMs?: number }
  /** Retrying cannot succeed: invalid recipient, rejected content. */
  | { ok: false; kind: 'permanent'; reason: string }
  /** The idempotency key was already used with other content: the provider has this delivery. */
  | { ok: false; kind: 'already_accepted'; reason: string };

export interface EmailSender {
  readonly provider: string;
  send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome>;
}
