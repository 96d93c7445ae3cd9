import type { EntityManager } from '@mikro-orm/postgresql';
import { EventLog } from '../db/entities/index.js';

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
