/**
 * The handshake that keeps "nothing half-written" true while enrollments are inserted and
 * their workflows started in one database transaction (single and bulk enrollment alike).
 *
 * The API takes an exclusive transaction-scoped advisory lock per new enrollment before it
 * starts the workflow, and holds it until its transaction commits or rolls back. A freshly
 * started workflow's first `loadPlan` takes the same lock, shared, before reading the row:
 * it waits for the API's transaction, then sees the row if it was committed, or finds none
 * (and ends itself) if it was rolled back. Without this, a fast worker could read before the
 * commit and end a perfectly good enrollment as "record missing".
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** A 64-bit advisory lock key from an enrollment id (uuid): its first 16 hex digits. */
export function enrollmentStartLockKey(enrollmentId: string): string {
  return BigInt.asIntN(64, BigInt(`0x${enrollmentId.replace(/-/g, '').slice(0, 16)}`)).toString();
}

/** In the enrolling transaction: hold every new enrollment's lock until commit or rollback. */
export async function holdEnrollmentStartLocks(tx: EntityManager, enrollmentIds: string[]): Promise<void> {
  if (enrollmentIds.length === 0) return;
  await tx.getConnection().execute(
    // A JSON array: the driver would splice a JavaScript array into a list of placeholders.
    'select pg_advisory_xact_lock(k::bigint) from jsonb_array_elements_text(?::jsonb) as k',
    [JSON.stringify(enrollmentIds.map(enrollmentStartLockKey))],
    'all',
    tx.getTransactionContext(),
  );
}

/** In a workflow's activity: wait until any transaction still inserting this enrollment has ended. */
export async function awaitEnrollmentStart(em: EntityManager, enrollmentId: string): Promise<void> {
  await em.transactional(async (tx) => {
    await tx
      .getConnection()
      .execute(
        'select pg_advisory_xact_lock_shared(?::bigint)',
        [enrollmentStartLockKey(enrollmentId)],
        'all',
        tx.getTransactionContext(),
      );
  });
}
