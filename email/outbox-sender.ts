import type { Logger } from 'pino';
import type { EmailSender, OutgoingEmail, SendOutcome } from './sender.js';

/**
 * The development outbox: used when no RESEND_API_KEY is configured. Nothing leaves the
 * machine; the rendered email is logged and kept in the delivery ledger so a new user can
 * see exactly what would have been sent.
 */
export class OutboxSender implements EmailSender {
  readonly provider = 'outbox';

  constructor(private readonly logger: Logger) {}

  async send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome> {
    this.logger.info(
      { to: email.to, subject: email.subject, idempotencyKey },
      'outbox: email kept, not sent',
    );
    return { ok: true, providerMessageId: `outbox:${idempotencyKey}` };
  }
}
