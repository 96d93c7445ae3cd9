/** API keys: random, shown once, stored as a SHA-256 hash (high-entropy keys need no slow hash). */
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey, Workspace } from '../db/entities/index.js';

const KEY_PREFIX = 'nudge_';

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
}

export async function issueApiKey(em: EntityManager, workspaceId: string, name: string): Promise<IssuedKey> {
  const key = generateApiKey();
  const prefix = key.slice(0, KEY_PREFIX.length + 6);
  const row = em.create(ApiKey, { workspace: workspaceId, name, prefix, hash: hashApiKey(key) });
  await em.flush();
  return { id: row.id, key, prefix };
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

/** The workspace a bearer key belongs to, or null for a missing, unknown or revoked key. */
export async function workspaceForKey(
  em: EntityManager,
  authorization: string | undefined,
): Promise<string | null> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) return null;
  const row = await em.findOne(ApiKey, { hash: hashApiKey(match[1]!), revokedAt: null });
  return row?.workspace ?? null;
}
