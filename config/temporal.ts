/** Temporal connections and the one-time namespace set-up both processes share. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are reachable only through the default export
import { nudgeSearchAttributes } from '../workflows/search-attributes.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
}

export async function connectClient(
  settings: TemporalSettings,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: settings.address });
  return { client: new Client({ connection, namespace: settings.namespace }), connection };
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect({ address: settings.address });
}

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;

const { IndexedValueType } = proto.temporal.api.enums.v1;

const indexedValueType: Record<SearchAttributeType, proto.temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers Nudge's search attributes (idempotent), so engineers can filter enrollments in
 * the Temporal UI on the dev server and on a full cluster alike.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let known = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    known = new Set(Object.keys(existing.customAttributes ?? {}));
  } catch (error) {
    // Temporal's time-skipping test server has no listing; adding tells us what we need.
    if (grpcCode(error) !== GRPC_UNIMPLEMENTED) throw error;
  }
  const missing = nudgeSearchAttributes.filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]])),
    });
  } catch (error) {
    // Two processes starting together may both add them; the second one is told they exist.
    if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
  }
}

const grpcCode = (error: unknown) => (error as { code?: number }).code;
