import { Resend } from 'resend';
import type { EmailSender, OutgoingEmail, SendOutcome } from './sender.js';

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

  async send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome> {
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
      { idempotencyKey, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) } as { idempotencyKey: string },
    );
    if (data) return { ok: true, providerMessageId: data.id };
    return classifyResendError(error ?? {}, headers ?? null);
  }
}

/** D4: which provider answers are worth retrying. */
export function classifyResendError(
  error: ResendErrorShape,
  headers: Record<string, string> | null,
): SendOutcome {
  const status = error.statusCode ?? null;
  const reason = `${error.name ?? 'error'}${status ? ` (${status})` : ''}: ${error.message ?? 'no message'}`;
  if (status === null) return { ok: false, kind: 'transient', reason };
  if (status === 429) {
    const retryAfterSeconds = Number(headers?.['retry-after']);
    return {
      ok: false,
      kind: 'transient',
      reason,
      ...(Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0
        ? { retryAfterMs: retryAfterSeconds * 1000 }
        : {}),
    };
  }
  if (status === 409 && error.name === 'invalid_idempotent_request') {
    return { ok: false, kind: 'already_accepted', reason };
  }
  // Concurrent request with the same key, server errors, and our own misconfiguration
  // (a bad API key) are all fixed by waiting or by an operator, not by giving up on a contact.
  if (status === 409 || status >= 500 || status === 401 || status === 403) {
    return { ok: false, kind: 'transient', reason };
  }
  return { ok: false, kind: 'permanent', reason };
}
