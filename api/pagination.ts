/**
 * Cursor pagination for every list: newest first, keyset on (createdAt, id), so pages stay
 * stable while rows are added and a page costs the same at row 10 and at row 10 million.
 * The cursor is opaque to clients (base64url of the last row's position).
 */
import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { Type, type TSchema } from 'typebox';
import { invalidField } from './errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Query parameters every list accepts; spread into a route's querystring schema. */
export const pageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description: 'Items per page.',
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: '`nextCursor` of the previous page; omit for the first page.',
    }),
  ),
};

export interface PageParams {
  limit?: number;
  cursor?: string;
}

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` to get the next page; null on the last page.',
    }),
  });

interface Position {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [at, id] = parsed as unknown[];
    const createdAt = typeof at === 'string' ? new Date(at) : null;
    if (createdAt && !Number.isNaN(createdAt.getTime()) && typeof id === 'string' && UUID.test(id)) {
      return { createdAt, id };
    }
  }
  throw invalidField('/query/cursor', 'is not a cursor this API returned');
}

/**
 * One page of `entity` matching `where`, newest first. Rows are created with millisecond
 * timestamps (JavaScript dates), so the cursor's position is exact.
 */
export async function findPage<T extends { createdAt: Date; id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  params: PageParams,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const limit = params.limit ?? DEFAULT_PAGE_SIZE;
  const after = params.cursor ? decodeCursor(params.cursor) : null;
  const conditions = [where] as FilterQuery<T>[];
  if (after) {
    conditions.push({
      $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, id: { $lt: after.id } }],
    } as FilterQuery<T>);
  }
  const rows = (await em.find(entity, { $and: conditions } as FilterQuery<T>, {
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] as never,
    limit: limit + 1,
  })) as T[];
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
