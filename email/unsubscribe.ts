/**
 * D7: signed unsubscribe links. A token names a contact (and, for attribution, the email it
 * came in) and carries an HMAC over them and the contact's workspace, keyed by
 * UNSUBSCRIBE_SECRET: it cannot be forged, and it cannot be edited to unsubscribe someone
 * else. Tokens do not expire: an unsubscribe link must keep working for as long as the email
 * that carries it is read.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A uuid as 22 base64url characters, so links stay short (and under routers' path limits). */
const compact = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
function expand(text: string): string | null {
  const hex = Buffer.from(text, 'base64url').toString('hex');
  if (hex.length !== 32 || Buffer.from(hex, 'hex').toString('base64url') !== text) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ID = '[A-Za-z0-9_-]{22}';
/** `<contact>.<delivery or ->.<mac>`: HMAC-SHA256 truncated to 128 bits, as base64url. */
const TOKEN = new RegExp(`^(${ID})\\.(${ID}|-)\\.([A-Za-z0-9_-]{22})$`);
const MAC_BYTES = 16;

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
    .digest()
    .subarray(0, MAC_BYTES);
}

export function unsubscribeToken(secret: string, subject: UnsubscribeSubject): string {
  const delivery = subject.deliveryId ? compact(subject.deliveryId) : '-';
  return `${compact(subject.contactId)}.${delivery}.${signature(secret, subject).toString('base64url')}`;
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
  const contactId = expand(match[1]!);
  const deliveryId = match[2] === '-' ? null : expand(match[2]!);
  if (!contactId || (match[2] !== '-' && !deliveryId)) return null;
  return { contactId, deliveryId };
}

/** True when the token was signed for exactly this subject with this secret. */
export function verifyUnsubscribeToken(secret: string, token: string, subject: UnsubscribeSubject): boolean {
  const claimed = parseUnsubscribeToken(token);
  if (!claimed || claimed.contactId !== subject.contactId || claimed.deliveryId !== subject.deliveryId) {
    return false;
  }
  // Compared as text: base64url has several spellings of the same bytes; only one is valid.
  const given = Buffer.from(TOKEN.exec(token)![3]!);
  const expected = Buffer.from(signature(secret, subject).toString('base64url'));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** RFC 8058 one-click unsubscribe headers for an email carrying this link (RFC 2369 angle brackets). */
export function listUnsubscribeHeaders(url: string): Record<string, string> {
  return { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}
