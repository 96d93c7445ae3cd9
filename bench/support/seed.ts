/** Fast bench set-up: contacts inserted directly (creating them is not what is measured). */
import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '../../test/support/database.js';

export async function seedContacts(db: TestDatabase, workspaceId: string, count: number, prefix: string) {
  const ids: string[] = [];
  const connection = db.orm.em.getConnection();
  for (let offset = 0; offset < count; offset += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - offset) }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return [id, workspaceId, `${prefix}-${offset + i}@bench.test`, `Bench ${offset + i}`];
    });
    await connection.execute(
      `insert into contact (id, workspace_id, email, name, created_at, updated_at) values ${rows
        .map(() => '(?, ?, ?, ?, now(), now())')
        .join(', ')}`,
      rows.flat(),
    );
  }
  return ids;
}
