/**
 * D7: signed unsubscribe links. A token names a contact (and, for attribution, the email it
 * came in) and carries an HMAC over them and the contact's workspace, keyed by
 * UNSUBSCRIBE_SECRET: it cannot be forged, and it cannot be edited to unsubscribe someone
 * else. Tokens do not expire: an unsubscribe link must keep working for as long as the email
 * that carries it is read.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TOKEN = new RegExp(`^(${UUID})\\.(${UUID}|-)\\.([A-Za-z0-9_-]{43})$`);

export interface UnsubscribeSubject {
  workspaceId: string;
  contactId: string;
  /** The email whose link it is (for per-step numbers); null for previews. */
  deliveryId: string | null;
}

function signature(secret: string, subject: UnsubscribeSubject): Buffer {
  return createHmac('sha256', secret)
    .update(
      `nudge/unsubscribe/v1\n${subject.workspaceId}\n${subject.contactId}\n${subject.deliveryId ?? '-'}`,
    )
    .digest();
}

export function unsubscribeToken(secret: string, subject: UnsubscribeSubject): string {
  return `${subject.contactId}.${subject.deliveryId ?? '-'}.${signature(secret, subject).toString('base64url')}`;
}

export function unsubscribeUrl(publicUrl: string, secret: string, subject: UnsubscribeSubject): string {
  return `${publicUrl.replace(/\/+$/, '')}/unsubscribe/${unsubscribeToken(secret, subject)}`;
}

/** The ids a token claims, before it is verified (the contact's workspace is needed for that). */
export function parseUnsubscribeToken(
  token: string,
): { contactId: string; deliveryId: string | null } | null {
  const match = TOKEN.exec(token);
  if (!match) return null;
  return { contactId: match[1]!, deliveryId: match[2] === '-' ? null : match[2]! };
}

/** True when the token was signed for exactly this subject with this secret. */
export function verifyUnsubscribeToken(secret: string, token: string, subject: UnsubscribeSubject): boolean {
  const match = TOKEN.exec(token);
  if (
    !match ||
    match[1] !== subject.contactId ||
    (match[2] === '-' ? null : match[2]) !== subject.deliveryId
  ) {
    return false;
  }
  const given = Buffer.from(match[3]!, 'base64url');
  const expected = signature(secret, subject);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** RFC 8058 one-click unsubscribe headers for an email carrying this link (RFC 2369 angle brackets). */
export function listUnsubscribeHeaders(url: string): Record<string, string> {
  return { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}
