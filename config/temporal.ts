/** Temporal connections and the one-time namespace set-up both processes share. */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are reachable only through the default export
import { nudgeSearchAttributes } from '../workflows/search-attributes.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Temporal Cloud API key (sent with TLS). */
  apiKey?: string | null;
  /** null or absent: plain gRPC (a dev server, a private cluster); {}: TLS; with files: mTLS. */
  tls?: { certPath: string; keyPath: string } | Record<string, never> | null;
}

/** TLS and API-key options shared by the client's and the worker's connections. */
function security(settings: TemporalSettings) {
  const tls = settings.tls
    ? 'certPath' in settings.tls
      ? {
          clientCertPair: {
            crt: readFileSync(settings.tls.certPath as string),
            key: readFileSync(settings.tls.keyPath as string),
          },
        }
      : true
    : undefined;
  return { ...(tls ? { tls } : {}), ...(settings.apiKey ? { apiKey: settings.apiKey } : {}) };
}

export interface ConnectOptions {
  /** How long to keep trying while the server is not up yet (a deployment starting together). */
  waitMs?: number;
  onRetry?: (error: unknown, attempt: number) => void;
}

export async function connectClient(
  settings: TemporalSettings,
  options: ConnectOptions = {},
): Promise<{ client: Client; connection: Connection }> {
  const connection = await untilConnected(
    () => Connection.connect({ address: settings.address, ...security(settings) }),
    options,
  );
  return { client: new Client({ connection, namespace: settings.namespace }), connection };
}

export async function connectWorker(
  settings: TemporalSettings,
  options: ConnectOptions = {},
): Promise<NativeConnection> {
  return untilConnected(
    () => NativeConnection.connect({ address: settings.address, ...security(settings) }),
    options,
  );
}

async function untilConnected<T>(connect: () => Promise<T>, options: ConnectOptions): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** (attempt - 1), 5_000)));
    }
  }
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
 * the Temporal UI on the dev server and on a full cluster alike. Both processes call it at
 * start: whichever comes first registers them, before any workflow is started with them.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let known: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    known = existing.customAttributes ?? {};
  } catch (error) {
    // Temporal's time-skipping test server has no listing; adding tells us what we need.
    if (grpcCode(error) !== GRPC_UNIMPLEMENTED) throw error;
  }
  const wrongType = nudgeSearchAttributes.filter(
    (key) => key.name in known && known[key.name] !== indexedValueType[key.type],
  );
  if (wrongType.length > 0) {
    throw new Error(
      `search attributes registered with another type in namespace ${namespace}: ${wrongType
        .map((key) => `${key.name} must be ${key.type}`)
        .join(', ')}`,
    );
  }
  const missing = nudgeSearchAttributes.filter((key) => !(key.name in known));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]])),
    });
  } catch (error) {
    // Two processes starting together may both add them; the second one is told they exist.
    if (grpcCode(error) === GRPC_ALREADY_EXISTS) return;
    throw new Error(
      `could not register search attributes ${missing.map((key) => key.name).join(', ')} in namespace ` +
        `${namespace} (${(error as Error).message}). Where the operator API is not open to Nudge ` +
        `(Temporal Cloud, a locked-down cluster), register them once by hand: see README "Run at scale".`,
      { cause: error },
    );
  }
}

const grpcCode = (error: unknown) => (error as { code?: number }).code;
