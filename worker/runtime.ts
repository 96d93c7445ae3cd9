/**
 * The worker's Temporal Runtime: SDK, workflow and Rust-core logs go to the process's pino
 * logger (JSON, with workflow and run ids), and the SDK's own metrics are exported in
 * Prometheus format on a loopback port that the worker's /metrics merges (metrics-server.ts).
 * Runtime.install must run before the first NativeConnection is made.
 */
import { Runtime } from '@temporalio/worker';
import type { Logger as TemporalLogger, LogLevel, LogMetadata } from '@temporalio/common';
import type { Logger } from 'pino';

const pinoLevel: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Adapts pino to the SDK's Logger interface; the SDK's metadata becomes JSON fields. */
export function temporalLoggerFor(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    // pino serializes errors under `err`; the SDK names them `error` or `failure`.
    const { error, ...rest } = meta as { error?: unknown } & Record<string, unknown>;
    logger[pinoLevel[level]]({ ...rest, ...(error ? { err: error } : {}) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

export function installTemporalRuntime(options: { logger: Logger; sdkMetricsPort: number }): void {
  Runtime.install({
    logger: temporalLoggerFor(options.logger.child({ component: 'temporal' })),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      metrics: {
        prometheus: {
          bindAddress: `127.0.0.1:${options.sdkMetricsPort}`,
          // Prometheus naming conventions: `_total` counters, durations in seconds with their unit.
          countersTotalSuffix: true,
          unitSuffix: true,
          useSecondsForDurations: true,
        },
      },
    },
  });
}
