import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { pageOf, pageQuery } from '../pagination.js';
import { Problem } from '../schemas/common.js';
import { apiKeyResponse } from '../serialize.js';
import { ApiKeyInput, ApiKeyParams, ApiKeySchema, IssuedApiKeySchema } from '../schemas/api-keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../services/api-keys.js';

export const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api-keys',
    {
      schema: {
        tags: ['api keys'],
        summary: "List this workspace's API keys (never the keys themselves)",
        querystring: Type.Object({ ...pageQuery }, { additionalProperties: false }),
        response: { 200: pageOf(ApiKeySchema) },
      },
    },
    async (request) => {
      const page = await listApiKeys(request.services, request.query);
      return { data: page.items.map(apiKeyResponse), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/api-keys',
    {
      schema: {
        tags: ['api keys'],
        summary: 'Issue another API key for this workspace; the key is shown once, in this response',
        body: ApiKeyInput,
        response: { 201: IssuedApiKeySchema },
      },
    },
    async (request, reply) => {
      const issued = await createApiKey(request.services, request.body.name);
      return reply
        .code(201)
        .header('location', `/api-keys/${issued.id}`)
        .send({ ...apiKeyResponse(issued.row), key: issued.key });
    },
  );

  app.delete(
    '/api-keys/:apiKeyId',
    {
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key: requests with it are refused (401) from now on; the record stays',
        params: ApiKeyParams,
        response: { 200: ApiKeySchema, 409: Problem },
      },
    },
    async (request) =>
      apiKeyResponse(
        await revokeApiKey(request.services, request.params.apiKeyId, request.apiKey?.id ?? null),
      ),
  );
};
