import { Type } from 'typebox';

/** The id the document shows as an example (the Schemathesis run seeds rows under it). */
export const UUID_EXAMPLE = '0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e';
export const Uuid = Type.String({ format: 'uuid', examples: [UUID_EXAMPLE] });
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Tag = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S(.*\\S)?$' });
export const Tags = Type.Array(Tag, { maxItems: 100, uniqueItems: true });
export const IanaTimeZone = Type.String({ minLength: 1, maxLength: 64, examples: ['Europe/Paris'] });
/** ISO-8601 duration such as `P2D` or `PT3H30M`. */
export const IsoDuration = Type.String({
  pattern: '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$',
  examples: ['P2D', 'PT4H'],
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    field: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details' },
);

/**
 * Kept for routes that spread it; the route conventions (api/http/route-conventions.ts) add
 * every standard problem response (400, 401, 404 with path ids, 429, ...) to every route anyway.
 */
export const problemResponses = {
  400: Problem,
  401: Problem,
} as const;
