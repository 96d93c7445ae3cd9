import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';

/** What a service call needs: this request's unit of work, its workspace, and Temporal. */
export interface ServiceContext {
  em: EntityManager;
  workspaceId: string;
  temporal: TemporalAccess;
}

export interface TemporalAccess {
  client: Client;
  taskQueue: string;
}
