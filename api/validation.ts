/**
 * Request validation. Bodies are JSON and validated strictly: a string is never turned into
 * an array or a number behind the caller's back. Path and query parameters arrive as text,
 * so they are coerced to the types their schemas declare.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const common: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
const strictAjv = addFormats(new Ajv({ ...common, coerceTypes: false }));
const coercingAjv = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema);

/** A strict (non-coercing) validator for JSON values, e.g. the items of a bulk request. */
export function compileStrict(schema: object) {
  return strictAjv.compile(schema);
}
