/**
 * Operator commands that talk to the database directly (they need DATABASE_URL, not an API
 * key): creating a workspace with its first key, and listing, issuing and revoking keys —
 * also the way back in when every key of a workspace has been revoked.
 */
import type { MikroORM } from '@mikro-orm/postgresql';

async function withDatabase<T>(work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const { loadConfigOrExit } = await import('../config/config.js');
  const { createOrm, migrate } = await import('../db/orm.js');
  const config = loadConfigOrExit();
  const orm = await createOrm(config.databaseUrl);
  try {
    await migrate(orm);
    return await work(orm);
  } finally {
    await orm.close();
  }
}

const keepIt = 'Keep it now: it is shown only this once (only its hash is stored).';

export async function createWorkspace(name: string, options: { json?: boolean }): Promise<void> {
  const { createWorkspaceWithKey } = await import('../api/keys.js');
  const { workspaceId, apiKey } = await withDatabase((orm) => createWorkspaceWithKey(orm.em.fork(), name));
  if (options.json) {
    console.log(JSON.stringify({ workspaceId, apiKey: apiKey.key }));
    return;
  }
  console.log(`Workspace "${name}" created: ${workspaceId}`);
  console.log(`API key: ${apiKey.key}`);
  console.error(keepIt);
}

export async function listKeys(workspaceId: string, options: { json?: boolean }): Promise<void> {
  const { ApiKey } = await import('../db/entities/index.js');
  const keys = await withDatabase((orm) =>
    orm.em.fork().find(ApiKey, { workspace: workspaceId }, { orderBy: { createdAt: 'asc' } }),
  );
  if (options.json) {
    console.log(JSON.stringify(keys.map(({ hash: _hash, ...key }) => key)));
    return;
  }
  if (keys.length === 0) console.error(`No keys for workspace ${workspaceId} (or no such workspace).`);
  for (const key of keys) {
    const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
    const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : 'never used';
    console.log(`${key.id}  ${key.prefix}…  ${key.name}  (${state}, ${used})`);
  }
}

export async function createKey(
  workspaceId: string,
  name: string,
  options: { json?: boolean },
): Promise<void> {
  const { Workspace } = await import('../db/entities/index.js');
  const { issueApiKey } = await import('../api/keys.js');
  const issued = await withDatabase(async (orm) => {
    const em = orm.em.fork();
    if (!(await em.findOne(Workspace, workspaceId))) return null;
    return issueApiKey(em, workspaceId, name);
  });
  if (!issued) throw new CliError(`No workspace ${workspaceId}.`);
  if (options.json) {
    console.log(JSON.stringify({ id: issued.id, apiKey: issued.key }));
    return;
  }
  console.log(`API key ${issued.id} ("${name}"): ${issued.key}`);
  console.error(keepIt);
}

export async function revokeKey(keyId: string): Promise<void> {
  const { ApiKey } = await import('../db/entities/index.js');
  const revoked = await withDatabase(async (orm) => {
    const em = orm.em.fork();
    const key = await em.findOne(ApiKey, keyId);
    if (!key) return null;
    key.revokedAt ??= new Date();
    await em.flush();
    return key;
  });
  if (!revoked) throw new CliError(`No API key ${keyId}.`);
  console.log(`Revoked ${revoked.id} (${revoked.prefix}…, "${revoked.name}"). Requests with it now get 401.`);
}

/** An error the user can act on: printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
