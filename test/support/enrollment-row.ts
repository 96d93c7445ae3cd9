/** An active enrollment row (generation 1) with no workflow behind it, for tests that drive activities or starts by hand. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Enrollment } from '../../db/entities/index.js';

export async function insertEnrollmentRow(
  em: EntityManager,
  of: { workspace: string; sequence: string; contact: string },
): Promise<Enrollment> {
  const enrollment = em.create(Enrollment, {
    ...of,
    generation: 1,
    status: 'active',
    workflowId: `enrollment:${of.sequence}:${of.contact}`,
  });
  await em.flush();
  return enrollment;
}
