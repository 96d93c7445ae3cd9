/** D7: resolving an unsubscribe link to its contact, and using it. */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { Contact, Delivery } from '../../db/entities/index.js';
import { parseUnsubscribeToken, verifyUnsubscribeToken } from '../../email/unsubscribe.js';
import type { TemporalAccess } from '../context.js';
import { signalEndedWorkflows, suppressContactInTransaction } from './suppression.js';

export interface UnsubscribeLink {
  contact: Contact;
  deliveryId: string | null;
}

/** The contact a genuine link belongs to; null for a forged, altered or unknown one. */
export async function resolveUnsubscribeLink(
  em: EntityManager,
  secret: string,
  token: string,
): Promise<UnsubscribeLink | null> {
  const claimed = parseUnsubscribeToken(token);
  if (!claimed) return null;
  const contact = await em.findOne(Contact, claimed.contactId);
  if (!contact) return null;
  const subject = { workspaceId: contact.workspace, contactId: contact.id, deliveryId: claimed.deliveryId };
  if (!verifyUnsubscribeToken(secret, token, subject)) return null;
  return { contact, deliveryId: claimed.deliveryId };
}

/**
 * Suppresses the link's contact (E12: its enrollments end) and credits the unsubscribe to
 * the email it came from. Using a link again changes nothing.
 */
export async function unsubscribeByLink(
  deps: { orm: MikroORM; temporal: TemporalAccess; logger: FastifyBaseLogger },
  link: UnsubscribeLink,
): Promise<{ alreadyUnsubscribed: boolean }> {
  const result = await deps.orm.em.fork().transactional(async (tx) => {
    const suppressed = await suppressContactInTransaction(tx, link.contact.id, 'unsubscribed', {
      via: 'unsubscribe_link',
      deliveryId: link.deliveryId,
    });
    if (suppressed.changed && link.deliveryId) {
      await tx.nativeUpdate(
        Delivery,
        { id: link.deliveryId, contact: link.contact.id, unsubscribedAt: null },
        { unsubscribedAt: new Date() },
      );
    }
    return suppressed;
  });
  await signalEndedWorkflows(deps.temporal, result.endedWorkflows, deps.logger);
  return { alreadyUnsubscribed: !result.changed };
}
