/**
 * A fresh PostgreSQL database per test file, migrated, dropped afterwards. The server comes
 * from DATABASE_URL (scripts/test starts one); its role needs CREATEDB.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * `drop database … with (force)` ends every session on the database, and refuses (42501,
 * insufficient privilege) when one of them is an autovacuum worker, which has no role the test
 * role may signal. Autovacuum on a test database is over in moments: drop again.
 */
async function dropDatabase(name: string, attempts = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await adminQuery(`drop database if exists "${name}" with (force)`);
    } catch (error) {
      if ((error as { code?: string }).code !== '42501' || attempt >= attempts) throw error;
      await sleep(250);
    }
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
      await dropDatabase(name);
    },
  };
}
