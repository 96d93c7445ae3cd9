/**
 * The usual setup of a test file, registered as its `beforeAll`/`afterAll`: a Temporal server
 * (time-skipping, or a dev server where visibility queries are needed), a Nudge world with
 * its worker and, for API tests, the Fastify app built on them. Fields are set in `beforeAll`.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp } from '../../api/app.js';
import type { EmailSender } from '../../email/sender.js';
import type { App } from './http.js';
import { RecordingSender } from './recording-sender.js';
import { startDevServer, startTimeSkippingServer } from './temporal.js';
import { silentLogger, startWorld, type World } from './world.js';

export interface WorldHandle<S extends EmailSender = RecordingSender> {
  env: TestWorkflowEnvironment;
  world: World;
  /** The provider the world sends to: by default a recorder on the test server's clock. */
  sender: S;
}

interface Options<S extends EmailSender> {
  server?: 'time-skipping' | 'dev';
  sender?: S;
  world?: Parameters<typeof startWorld>[2];
}

export function useWorld<S extends EmailSender = RecordingSender>(options: Options<S> = {}): WorldHandle<S> {
  return setUp(options, false);
}

export function useApiWorld<S extends EmailSender = RecordingSender>(
  options: Options<S> = {},
): WorldHandle<S> & { app: App } {
  return setUp(options, true);
}

function setUp<S extends EmailSender>(options: Options<S>, withApp: boolean) {
  const handle = {} as WorldHandle<S> & { app: App };
  beforeAll(async () => {
    handle.env = options.server === 'dev' ? await startDevServer() : await startTimeSkippingServer();
    handle.sender =
      options.sender ?? (new RecordingSender(() => handle.env.currentTimeMs()) as EmailSender as S);
    handle.world = await startWorld(handle.env, handle.sender, options.world);
    if (!withApp) return;
    handle.app = await buildApp({
      orm: handle.world.db.orm,
      temporal: { client: handle.env.client, taskQueue: handle.world.taskQueue },
      logger: silentLogger,
    });
  }, 180_000);
  afterAll(async () => {
    await handle.app?.close();
    await handle.world?.close();
    await handle.env?.teardown();
  });
  return handle;
}
