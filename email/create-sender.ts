import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { OutboxSender } from './outbox-sender.js';
import { ResendSender } from './resend-sender.js';
import type { EmailSender } from './sender.js';

/** Resend when a key is configured; otherwise the development outbox. */
export function createEmailSender(email: Config['email'], logger: Logger): EmailSender {
  if (email.resendApiKey) return new ResendSender(email.resendApiKey, email.resendBaseUrl);
  logger.warn('RESEND_API_KEY is not set: emails go to the development outbox and are not sent');
  return new OutboxSender(logger);
}
