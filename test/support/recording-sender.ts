import type { EmailSender, OutgoingEmail, SendOutcome } from '../../email/sender.js';

export interface RecordedSend {
  email: OutgoingEmail;
  idempotencyKey: string;
  /** The (possibly time-skipped) clock's time when the provider was called. */
  atMs: number;
}

/**
 * An in-memory provider for workflow tests: records what was handed over and when, on the
 * test server's clock, and dedupes by idempotency key like a real provider.
 */
export class RecordingSender implements EmailSender {
  readonly provider = 'recording';
  readonly sends: RecordedSend[] = [];
  private readonly byKey = new Map<string, string>();

  constructor(private readonly clock: () => Promise<number> | number = () => Date.now()) {}

  async send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome> {
    const existing = this.byKey.get(idempotencyKey);
    if (existing) return { ok: true, providerMessageId: existing };
    const id = `rec_${this.sends.length + 1}`;
    this.byKey.set(idempotencyKey, id);
    this.sends.push({ email, idempotencyKey, atMs: await this.clock() });
    return { ok: true, providerMessageId: id };
  }

  subjects(): string[] {
    return this.sends.map((send) => send.email.subject);
  }
}
