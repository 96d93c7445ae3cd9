/**
 * Requests so malformed that Node's HTTP parser rejects them (bad request line, invalid
 * header, oversized headers, timeouts) never reach Fastify's error handler; they still get
 * an `application/problem+json` answer with a stable type.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { problemType, PROBLEM_CONTENT_TYPE } from '../errors.js';
import type { FastifyInstance } from 'fastify';

const byNodeCode: Record<string, { status: number; kind: string; title: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, kind: 'request-timeout', title: 'Request timed out' },
  HPE_HEADER_OVERFLOW: { status: 431, kind: 'headers-too-large', title: 'Request headers are too large' },
};

export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (error.code && byNodeCode[error.code]) || {
    status: 400,
    kind: 'malformed-request',
    title: 'Malformed HTTP request',
  };
  const body = JSON.stringify({
    type: problemType(known.kind),
    title: known.title,
    status: known.status,
    detail: 'The HTTP request could not be parsed.',
  });
  this.log.debug({ err: error }, 'client error');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
