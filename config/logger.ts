import { pino, type Logger } from 'pino';

/** JSON logs (pino) for the API and the worker, one logger per process. */
export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { service: name } });
}
