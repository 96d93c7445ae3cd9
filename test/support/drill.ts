/**
 * Helpers for end-to-end drills that run the real worker processes: a workspace with a
 * service context on the test side, a published sequence, and many enrolled contacts.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { ServiceContext } from '../../api/context.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { createContact } from '../../api/services/contacts.js';
import { enrollContact } from '../../api/services/enrollments.js';
import { createSequence, publishSequence } from '../../api/services/sequences.js';
import type { StepInput } from '../../api/schemas/sequences.js';
import type { Enrollment } from '../../db/entities/index.js';
import type { TestDatabase } from './database.js';

export interface Drill {
  ctx: () => ServiceContext;
  /** Creates and publishes a sequence; returns its id. */
  sequence(steps: StepInput[], name?: string): Promise<string>;
  /** Creates `count` contacts and enrolls each, a few at a time; returns the enrollments. */
  enrollMany(sequenceId: string, count: number, emailPrefix?: string): Promise<Enrollment[]>;
}

export async function startDrill(db: TestDatabase, client: Client, taskQueue: string): Promise<Drill> {
  const { workspaceId } = await createWorkspaceWithKey(db.orm.em.fork(), `drill-${randomUUID()}`);
  const ctx = (): ServiceContext => ({ em: db.orm.em.fork(), workspaceId, temporal: { client, taskQueue } });
  return {
    ctx,
    async sequence(steps, name = 'Drill') {
      const sequence = await createSequence(ctx(), { name, steps });
      await publishSequence(ctx(), sequence.id);
      return sequence.id;
    },
    async enrollMany(sequenceId, count, emailPrefix = 'drill') {
      const enrollments: Enrollment[] = [];
      const run = randomUUID().slice(0, 8);
      for (let start = 0; start < count; start += 10) {
        const batch = Array.from({ length: Math.min(10, count - start) }, async (_, offset) => {
          const contact = await createContact(ctx(), {
            email: `${emailPrefix}-${run}-${start + offset}@example.com`,
            name: `Contact ${start + offset}`,
          });
          const result = await enrollContact(ctx(), sequenceId, contact.id);
          if (result.kind !== 'enrolled') throw new Error(`expected an enrollment, got ${result.kind}`);
          return result.enrollment;
        });
        enrollments.push(...(await Promise.all(batch)));
      }
      return enrollments;
    },
  };
}
