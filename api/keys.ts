/** API keys: random, shown once, stored as a SHA-256 hash (high-entropy keys need no slow hash). */
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey, Workspace } from '../db/entities/index.js';

const KEY_PREFIX = 'nudge_';
/** `last_used_at` is refreshed at most this often, so authentication stays a read. */
const LAST_USED_PRECISION_MS = 60_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export interface IssuedKey {
  id: string;
  key: string;
  prefix: string;
  row: ApiKey;
}

export async function issueApiKey(em: EntityManager, workspaceId: string, name: string): Promise<IssuedKey> {
  const key = generateApiKey();
  const prefix = key.slice(0, KEY_PREFIX.length + 6);
  const row = em.create(ApiKey, { workspace: workspaceId, name, prefix, hash: hashApiKey(key) });
  await em.flush();
  return { id: row.id, key, prefix, row };
}

export async function createWorkspaceWithKey(
  em: EntityManager,
  name: string,
): Promise<{ workspaceId: string; apiKey: IssuedKey }> {
  return em.transactional(async (tx) => {
    const workspace = tx.create(Workspace, { name });
    await tx.flush();
    return { workspaceId: workspace.id, apiKey: await issueApiKey(tx, workspace.id, 'first key') };
  });
}

export interface AuthenticatedKey {
  id: string;
  workspaceId: string;
}

/** The key a bearer token names, or null for a missing, malformed, unknown or revoked key. */
export async function authenticateApiKey(
  em: EntityManager,
  authorization: string | undefined,
): Promise<AuthenticatedKey | null> {
  const match = /^Bearer[ \t]+(\S{1,200})[ \t]*$/i.exec(authorization ?? '');
  if (!match) return null;
  const row = await em.findOne(ApiKey, { hash: hashApiKey(match[1]!), revokedAt: null });
  if (!row) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
    await em.nativeUpdate(ApiKey, { id: row.id }, { lastUsedAt: new Date() });
  }
  return { id: row.id, workspaceId: row.workspace };
}

/** The workspace a bearer key belongs to, or null for a missing, unknown or revoked key. */
export async function workspaceForKey(
  em: EntityManager,
  authorization: string | undefined,
): Promise<string | null> {
  return (await authenticateApiKey(em, authorization))?.workspaceId ?? null;
}
