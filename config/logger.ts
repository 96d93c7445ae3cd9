import { pino, type DestinationStream, type Logger } from 'pino';
import { currentLogContext } from './log-context.js';

/**
 * JSON logs (pino) for the API and the worker, one logger per process, on standard output
 * unless told otherwise. Every line carries the ids of the activity it was written in
 * (see log-context.ts).
 */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      name,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A copy: pino merges each line's own fields into what mixin returns.
      mixin: () => ({ ...currentLogContext() }),
    },
    destination,
  );
}
