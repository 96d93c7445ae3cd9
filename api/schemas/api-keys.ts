import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from './common.js';

export const ApiKeySchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it.' }),
  createdAt: Timestamp,
  lastUsedAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
});

export const IssuedApiKeySchema = Type.Intersect([
  ApiKeySchema,
  Type.Object({ key: Type.String({ description: 'The key itself. Shown only in this response.' }) }),
]);

export const ApiKeyInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, examples: ['CRM integration'] }) },
  { additionalProperties: false, examples: [{ name: 'CRM integration' }] },
);

export const ApiKeyParams = Type.Object({ apiKeyId: Uuid }, { additionalProperties: false });
