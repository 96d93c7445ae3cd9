/**
 * The rows a send is guarded by (D2), locked, and its ledger row (D1), read in one statement.
 *
 * A send used to read them one by one (sequence FOR SHARE, contact FOR SHARE, enrollment FOR NO
 * KEY UPDATE, then the ledger): four round trips and four ORM queries, the largest part of a
 * send's CPU (bench/RESULTS.md, due burst). One statement takes the same locks in the same
 * order: PostgreSQL locks a row's relations in the order its locking clauses name them
 * (sequence → contact → enrollment, as every writer does), and after waiting for a lock it
 * rechecks the row against the latest committed versions, so what it returns is what the
 * separate reads would have seen. The ledger row is read without a lock, as before.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Contact, Delivery, Enrollment, Sequence } from '../db/entities/index.js';
import type { SendStepInput } from './types.js';

export interface SendRows {
  sequence: Sequence;
  contact: Contact;
  enrollment: Enrollment;
  /** The ledger row of this (enrollment, generation, step, kind), if an attempt wrote one. */
  existing: Delivery | null;
}

// Each table's row comes back as one JSON value (the tables share column names); the
// managed entities are built from them as from any row (timestamps are timestamptz, which
// JSON gives with their offset).
const SEND_ROWS = `
  select to_jsonb(s) as sequence, to_jsonb(c) as contact, to_jsonb(e) as enrollment,
         to_jsonb(d) as delivery
    from "enrollment" e
    join "sequence" s on s."id" = e."sequence_id"
    join "contact" c on c."id" = e."contact_id"
    left join "delivery" d on d."enrollment_id" = e."id" and d."generation" = ?
                          and d."step_id" = ? and d."kind" = ?
   where e."id" = ?`;
// NO KEY UPDATE, not UPDATE, on the enrollment: it excludes every other writer of the row but
// still lets the ledger's foreign key be checked from the journal connection meanwhile.
const LOCKED = `
     for share of s, c
     for no key update of e`;

interface SendRowsResult {
  sequence: Record<string, unknown>;
  contact: Record<string, unknown>;
  enrollment: Record<string, unknown>;
  delivery: Record<string, unknown> | null;
}

/** Null when the enrollment (or, through it, its sequence or contact) is gone. */
export function lockSendRows(tx: EntityManager, input: SendStepInput): Promise<SendRows | null> {
  return sendRows(tx, input, SEND_ROWS + LOCKED);
}

/** The same rows as they are now, without locks: what a send prepares ahead of its turn from. */
export function readSendRows(em: EntityManager, input: SendStepInput): Promise<SendRows | null> {
  return sendRows(em, input, SEND_ROWS);
}

async function sendRows(tx: EntityManager, input: SendStepInput, sql: string): Promise<SendRows | null> {
  const [row] = await tx
    .getConnection()
    .execute<SendRowsResult[]>(
      sql,
      [input.generation, input.stepId, input.kind, input.enrollmentId],
      'all',
      tx.getTransactionContext(),
    );
  if (!row) return null;
  return {
    sequence: tx.map(Sequence, row.sequence),
    contact: tx.map(Contact, row.contact),
    enrollment: tx.map(Enrollment, row.enrollment),
    existing: row.delivery ? tx.map(Delivery, row.delivery) : null,
  };
}
