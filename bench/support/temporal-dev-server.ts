/**
 * The Temporal CLI dev server as a process the benchmarks control: in memory, or file-backed
 * so the fault drill can kill and restart it on the same port without losing a workflow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/processes.js';
import { DEV_SERVER_FLAGS } from '../../test/support/temporal.js';
import { eventually } from '../../test/support/wait.js';
import { connect } from 'node:net';

export interface DevServer {
  address: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * `persistent`: keep state in a SQLite file (so a restart loses nothing) instead of memory.
 * The file uses WAL with normal synchronisation: it survives a killed server process,
 * which is what the drill does, without an fsync per write.
 */
export async function startDevServer(options: { persistent?: boolean } = {}): Promise<DevServer> {
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (!cli) throw new Error('TEMPORAL_CLI_PATH is not set: run benchmarks through scripts/bench');
  const port = await freePort();
  const storage = options.persistent
    ? [
        '--db-filename',
        join(mkdtempSync(join(tmpdir(), 'nudge-bench-')), 'temporal.sqlite'),
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
      ]
    : [];
  let child: ChildProcess;

  const launch = async () => {
    child = spawn(
      cli,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        ...storage,
        ...DEV_SERVER_FLAGS,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    await eventually(() => portOpen(port), { timeoutMs: 60_000, what: 'the Temporal dev server' });
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  await launch();
  return {
    address: `127.0.0.1:${port}`,
    async restart() {
      if (!options.persistent) throw new Error('restarting an in-memory dev server would lose everything');
      await kill();
      await launch();
    },
    stop: kill,
  };
}
