/**
 * When an HTTP request has been written to its socket: Node's fetch (undici) publishes it on
 * the `undici:request:bodySent` diagnostics channel. Provider calls are told apart by their
 * Idempotency-Key header, which every send carries (D1), so the Resend SDK needs no change.
 */
import { subscribe } from 'node:diagnostics_channel';

const waiting = new Map<string, () => void>();
let subscribed = false;

/** Calls `callback` once the request carrying this idempotency key is written; returns a cancel. */
export function whenRequestSent(idempotencyKey: string, callback: () => void): () => void {
  if (!subscribed) {
    subscribe('undici:request:bodySent', (message) => notify(message as BodySent));
    subscribed = true;
  }
  waiting.set(idempotencyKey, callback);
  return () => {
    if (waiting.get(idempotencyKey) === callback) waiting.delete(idempotencyKey);
  };
}

interface BodySent {
  request?: { headers?: unknown };
}

function notify({ request }: BodySent): void {
  if (waiting.size === 0) return;
  const key = idempotencyKeyOf(request?.headers);
  const callback = key === undefined ? undefined : waiting.get(key);
  if (!callback) return;
  waiting.delete(key!);
  callback();
}

// undici (Node 20 and later) keeps a request's headers as a flat [name, value, …] array.
function idempotencyKeyOf(headers: unknown): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === 'idempotency-key') return String(headers[i + 1]);
  }
  return undefined;
}
