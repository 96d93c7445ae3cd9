/**
 * Writes a migration for the difference between the entities and the database schema:
 *   npx tsx scripts/create-migration.ts [--initial]
 * then add the new class to db/migrations/index.ts.
 */
import { createOrm } from '../db/orm.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is required');
const orm = await createOrm(databaseUrl);
try {
  const result = await orm.migrator.create('db/migrations', false, process.argv.includes('--initial'));
  console.log(result.fileName ? `wrote db/migrations/${result.fileName}` : 'no changes');
} finally {
  await orm.close();
}
