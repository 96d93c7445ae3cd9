import { Resend } from 'resend';
import { whenRequestSent } from './request-sent.js';
import type { EmailSender, OutgoingEmail, SendOptions, SendOutcome } from './sender.js';

/** How long one provider call may take; the send holds row locks meanwhile (D2). */
const REQUEST_TIMEOUT_MS = 15_000;

interface ResendErrorShape {
  name?: string;
  message?: string;
  statusCode?: number | null;
}

/** Sends through the official `resend` SDK, which returns errors instead of throwing. */
export class ResendSender implements EmailSender {
  readonly provider = 'resend';
  private readonly client: Resend;

  constructor(apiKey: string, baseUrl?: string | null) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  }

  async send(email: OutgoingEmail, idempotencyKey: string, options: SendOptions = {}): Promise<SendOutcome> {
    const { onRequestSent } = options;
    const forget = onRequestSent ? whenRequestSent(idempotencyKey, onRequestSent) : undefined;
    try {
      return await this.call(email, idempotencyKey);
    } finally {
      forget?.();
    }
  }

  private async call(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome> {
    const { data, error, headers } = await this.client.emails.send(
      {
        from: email.from,
        to: [email.to],
        subject: email.subject,
        html: email.html,
        ...(email.text ? { text: email.text } : {}),
        ...(email.headers ? { headers: email.headers } : {}),
        ...(email.tags ? { tags: email.tags } : {}),
      },
      // The SDK hands its options to fetch, so the abort signal bounds the whole call.
      { idempotencyKey, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) } as { idempotencyKey: string },
    );
    if (data) return { ok: true, providerMessageId: data.id };
    return classifyResendError(error ?? {}, headers ?? null);
  }
}

/**
 * D4: what a Resend error means for this delivery (https://resend.com/docs/api-reference/errors).
 *
 * - No answer (network, timeout) and 5xx: retry; the provider may have taken the email.
 * - 429 (rate limit, daily or monthly quota): retry after `retry-after`; it did not.
 * - 401, 403, 404, 405 and an invalid sender: our configuration (API key, unverified domain,
 *   wrong endpoint, EMAIL_FROM). Retried with backoff until an operator fixes it: emails are
 *   delayed, never dropped, and each attempt is in the event log.
 * - 409 `invalid_idempotent_request`: the key was used with other content, so the provider
 *   has this delivery already. Other 409s (the same key still in flight): retry.
 * - Other 400/422/451: refused for good: an invalid recipient address, or the content.
 */
export function classifyResendError(
  error: ResendErrorShape,
  headers: Record<string, string> | null,
): SendOutcome {
  const status = error.statusCode ?? null;
  const name = error.name ?? 'error';
  const message = error.message ?? 'no message';
  const reason = `${name}${status ? ` (${status})` : ''}: ${message}`;
  if (status === null || status >= 500) return { ok: false, kind: 'transient', reason, accepted: 'unknown' };
  if (status === 429) {
    const retryAfterSeconds = Number(headers?.['retry-after']);
    return {
      ok: false,
      kind: 'transient',
      reason,
      accepted: false,
      ...(headers?.['retry-after'] !== undefined &&
      Number.isFinite(retryAfterSeconds) &&
      retryAfterSeconds >= 0
        ? { retryAfterMs: retryAfterSeconds * 1000 }
        : {}),
    };
  }
  if (status === 409) {
    return name === 'invalid_idempotent_request'
      ? { ok: false, kind: 'already_accepted', reason }
      : { ok: false, kind: 'transient', reason, accepted: 'unknown' };
  }
  if (
    [401, 403, 404, 405].includes(status) ||
    name === 'invalid_from_address' ||
    mentionsField(message, 'from')
  ) {
    return { ok: false, kind: 'transient', reason, accepted: false };
  }
  const failure = mentionsField(message, 'to') ? 'invalid_recipient' : 'rejected_content';
  return { ok: false, kind: 'permanent', failure, reason };
}

/** Resend names the offending field in backticks: "Invalid `to` field. …". */
function mentionsField(message: string, field: string): boolean {
  return message.includes(`\`${field}\``);
}
