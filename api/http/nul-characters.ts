/**
 * PostgreSQL text cannot hold U+0000: a NUL anywhere in a body or query string would fail
 * deep in the database as a 500. Refuse it up front as a 400 naming the field.
 */
import type { FastifyInstance } from 'fastify';
import { invalidField } from '../errors.js';

/** JSON pointer (RFC 6901) escaping of one path segment. */
const segment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** The pointer of the first string (or key) containing U+0000 in `value`, or null. */
export function findNulCharacter(value: unknown, pointer: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNulCharacter(item, `${pointer}/${index}`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return `${pointer}/${segment(key)}`;
      const found = findNulCharacter(item, `${pointer}/${segment(key)}`);
      if (found) return found;
    }
  }
  return null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler checks body items one by one (bulk routes report bad items, not the request). */
    checksBodyItems?: boolean;
  }
}

export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found =
      findNulCharacter(request.query, '/query') ??
      (request.routeOptions.config?.checksBodyItems ? null : findNulCharacter(request.body, '/body'));
    if (found) throw invalidField(found, 'must not contain NUL (U+0000) characters');
  });
}
