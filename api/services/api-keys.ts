/** Listing, issuing and revoking a workspace's API keys. */
import { ApiKey } from '../../db/entities/index.js';
import type { ServiceContext } from '../context.js';
import { notFound } from '../errors.js';
import { issueApiKey, type IssuedKey } from '../keys.js';
import { findPage, type PageParams } from '../pagination.js';

export function listApiKeys(ctx: ServiceContext, params: PageParams) {
  return findPage(ctx.em, ApiKey, { workspace: ctx.workspaceId }, params);
}

export function createApiKey(ctx: ServiceContext, name: string): Promise<IssuedKey> {
  return issueApiKey(ctx.em, ctx.workspaceId, name);
}

/** Revoking is immediate and final; revoking a revoked key changes nothing. */
export async function revokeApiKey(ctx: ServiceContext, apiKeyId: string): Promise<ApiKey> {
  const key = await ctx.em.findOne(ApiKey, { id: apiKeyId, workspace: ctx.workspaceId });
  if (!key) throw notFound('API key', apiKeyId);
  if (!key.revokedAt) {
    key.revokedAt = new Date();
    await ctx.em.flush();
  }
  return key;
}
