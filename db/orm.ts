/** MikroORM set-up: one config for the API, the worker, the tests and the migration tool. */
import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities/index.js';
import { migrationsList } from './migrations/index.js';

export function ormConfig(databaseUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      path: 'db/migrations',
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
    },
    // Requests and activities each fork their own EntityManager (CONVENTIONS §10).
    allowGlobalContext: false,
    forceUtcTimezone: true,
    pool: { min: 0, max: 20 },
    debug: false,
    // Migration progress and warnings go to the process's own (JSON) logger, or nowhere.
    logger: () => {},
    ...overrides,
  });
}

export async function createOrm(databaseUrl: string, overrides: Partial<Options> = {}): Promise<MikroORM> {
  return MikroORM.init(ormConfig(databaseUrl, overrides));
}

/**
 * Runs pending migrations. An advisory lock lets the API and the worker start together
 * (and several replicas of each) without racing to migrate.
 */
export async function migrate(orm: MikroORM): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    await em
      .getConnection()
      .execute('select pg_advisory_xact_lock(727274)', [], 'all', em.getTransactionContext());
    await orm.migrator.up();
  });
}
