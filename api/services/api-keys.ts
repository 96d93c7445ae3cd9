/** Listing, issuing and revoking a workspace's API keys. */
import { ApiKey } from '../../db/entities/index.js';
import type { ServiceContext } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { issueApiKey, type IssuedKey } from '../keys.js';
import { findPage, type PageParams } from '../pagination.js';

export function listApiKeys(ctx: ServiceContext, params: PageParams) {
  return findPage(ctx.em, ApiKey, { workspace: ctx.workspaceId }, params);
}

export function createApiKey(ctx: ServiceContext, name: string): Promise<IssuedKey> {
  return issueApiKey(ctx.em, ctx.workspaceId, name);
}

/**
 * Revoking is immediate and final; revoking a revoked key changes nothing. A key cannot
 * revoke itself: that is how a workspace locks itself out (use another key, or the CLI).
 */
export async function revokeApiKey(
  ctx: ServiceContext,
  apiKeyId: string,
  currentKeyId: string | null,
): Promise<ApiKey> {
  const key = await ctx.em.findOne(ApiKey, { id: apiKeyId, workspace: ctx.workspaceId });
  if (!key) throw notFound('API key', apiKeyId);
  if (key.id === currentKeyId) {
    throw conflict(
      'cannot-revoke-current-key',
      'Cannot revoke the key in use',
      'This request is authenticated with the key it asks to revoke. Revoke it with another key of the workspace (or `nudge keys revoke`).',
      { field: '/params/apiKeyId' },
    );
  }
  if (!key.revokedAt) {
    key.revokedAt = new Date();
    await ctx.em.flush();
  }
  return key;
}
