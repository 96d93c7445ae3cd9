import type { EntityManager } from '@mikro-orm/postgresql';
import { EventLog, type Enrollment } from '../db/entities/index.js';

export interface EventLogEntry {
  workspace: string;
  type: string;
  sequence?: string | null;
  contact?: string | null;
  enrollment?: string | null;
  data?: Record<string, unknown>;
}

/** Appends to the audit log within the caller's unit of work (flushed with it). */
export function appendEvent(em: EntityManager, entry: EventLogEntry): void {
  em.create(EventLog, {
    workspace: entry.workspace,
    type: entry.type,
    sequence: entry.sequence ?? null,
    contact: entry.contact ?? null,
    enrollment: entry.enrollment ?? null,
    data: entry.data ?? {},
  });
}

/** An audit entry about an enrollment: its workspace, sequence and contact go along. */
export function eventFor(
  enrollment: Pick<Enrollment, 'id' | 'workspace' | 'sequence' | 'contact'>,
  type: string,
  data: Record<string, unknown>,
): EventLogEntry {
  return {
    workspace: enrollment.workspace,
    sequence: enrollment.sequence,
    contact: enrollment.contact,
    enrollment: enrollment.id,
    type,
    data,
  };
}
