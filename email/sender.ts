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
  /**
   * Retrying may succeed: network, 5xx, 429 (with the provider's retry-after), and our own
   * configuration (API key, sender domain), which an operator fixes. `accepted: false` when
   * the provider certainly did not take the email (it said no); otherwise it may have.
   */
  | { ok: false; kind: 'transient'; reason: string; retryAfterMs?: number; accepted: false | 'unknown' }
  /** Retrying cannot succeed: the recipient's address, or the email itself, is refused. */
  | { ok: false; kind: 'permanent'; failure: 'invalid_recipient' | 'rejected_content'; reason: string }
  /** The idempotency key was already used with other content: the provider has this delivery. */
  | { ok: false; kind: 'already_accepted'; reason: string };

export interface SendOptions {
  /**
   * Called once the request has been written to the network, before the answer (D5: the pacer
   * stamps the call's departure then). A sender that cannot tell does not call it.
   */
  onRequestSent?: () => void;
}

export interface EmailSender {
  readonly provider: string;
  send(email: OutgoingEmail, idempotencyKey: string, options?: SendOptions): Promise<SendOutcome>;
}

/** The tag every email carries with its ledger row's id, so provider events find the row. */
export const DELIVERY_TAG = 'nudge_delivery';
