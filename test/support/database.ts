/**
 * A fresh PostgreSQL database per test file, migrated, dropped afterwards. The server comes
 * from DATABASE_URL (scripts/test starts one); its role needs CREATEDB.
 */
import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { createOrm, migrate } from '../../db/orm.js';

export const baseDatabaseUrl = () =>
  process.env.DATABASE_URL ?? 'postgres://nudge:nudge@127.0.0.1:5432/nudge';

async function adminQuery(sql: string): Promise<void> {
  const admin = await MikroORM.init({
    clientUrl: baseDatabaseUrl(),
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  try {
    await admin.em.getConnection().execute(sql);
  } finally {
    await admin.close();
  }
}

export interface TestDatabase {
  url: string;
  orm: MikroORM;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `nudge_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(baseDatabaseUrl());
  url.pathname = `/${name}`;
  const orm = await createOrm(url.toString());
  await migrate(orm);
  return {
    url: url.toString(),
    orm,
    async drop() {
      await orm.close();
      await adminQuery(`drop database if exists "${name}" with (force)`);
    },
  };
}
