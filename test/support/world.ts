/**
 * A running Nudge for one test file: a migrated database, a worker with the real
 * activities, and service helpers to create workspaces, contacts and sequences.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { createActivities } from '../../activities/index.js';
import type { ServiceContext } from '../../api/context.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { createContact } from '../../api/services/contacts.js';
import { createSequence, publishSequence } from '../../api/services/sequences.js';
import type { ContactInput } from '../../api/schemas/contacts.js';
import type { SequenceInput, StepInput } from '../../api/schemas/sequences.js';
import type { EmailSender } from '../../email/sender.js';
import type { ActivityObservability } from '../../worker/interceptors.js';
import { buildFanOutWorker, buildSendWorker, buildWorker, runWorkers } from '../../worker/worker.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { workflowBundle } from './temporal.js';

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface World {
  db: TestDatabase;
  env: TestWorkflowEnvironment;
  taskQueue: string;
  worker: Worker;
  /** Service context for a fresh workspace; each call to `workspace()` makes another. */
  ctx: ServiceContext;
  apiKey: string;
  workspace(): Promise<{ ctx: ServiceContext; apiKey: string }>;
  contact(input?: Partial<ContactInput>, ctx?: ServiceContext): ReturnType<typeof createContact>;
  publishedSequence(input?: Partial<SequenceInput>, ctx?: ServiceContext): ReturnType<typeof createSequence>;
  close(): Promise<void>;
}

export async function startWorld(
  env: TestWorkflowEnvironment,
  email: EmailSender,
  options: {
    observability?: ActivityObservability;
    delivery?: { publicUrl?: string; unsubscribeSecret?: string };
    /** Wraps the real activities, e.g. to hold one back while a test signals the workflow. */
    wrapActivities?: (activities: ReturnType<typeof createActivities>) => ReturnType<typeof createActivities>;
  } = {},
): Promise<World> {
  const db = await createTestDatabase();
  const taskQueue = `test-${randomUUID()}`;
  const real = createActivities({
    orm: db.orm,
    email,
    config: {
      from: 'Nudge Tests <tests@nudge.test>',
      publicUrl: options.delivery?.publicUrl ?? 'http://127.0.0.1:3000',
      ...(options.delivery?.unsubscribeSecret
        ? { unsubscribeSecret: options.delivery.unsubscribeSecret }
        : {}),
    },
    clock: () => new Date(),
    logger: silentLogger,
    temporal: env.client,
    fanOutConcurrency: 20,
  });
  const activities = options.wrapActivities ? options.wrapActivities(real) : real;
  const connection = { connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue };
  const observability = options.observability ? { observability: options.observability } : {};
  const worker = await buildWorker({
    ...connection,
    workflowBundle: await workflowBundle(),
    activities,
    ...observability,
  });
  const sendWorker = await buildSendWorker({
    ...connection,
    activities,
    ratePerSecond: null,
    concurrency: 8,
    ...observability,
  });
  const workspace = async () => {
    const { workspaceId, apiKey } = await createWorkspaceWithKey(db.orm.em.fork(), `ws-${randomUUID()}`);
    const ctx: ServiceContext = {
      em: db.orm.em.fork(),
      workspaceId,
      temporal: { client: env.client, taskQueue },
    };
    return { ctx, apiKey: apiKey.key };
  };
  const first = await workspace();
  const fanOutWorker = await buildFanOutWorker({
    ...connection,
    workflowBundle: await workflowBundle(),
    activities,
    ...observability,
  });
  const running = runWorkers([worker, sendWorker, fanOutWorker]);

  return {
    db,
    env,
    taskQueue,
    worker,
    ctx: first.ctx,
    apiKey: first.apiKey,
    workspace,
    contact: (input = {}, ctx = first.ctx) =>
      createContact(
        { ...ctx, em: ctx.em.fork() },
        { email: `${randomUUID()}@example.com`, name: 'Ada Lovelace', ...input },
      ),
    publishedSequence: async (input = {}, ctx = first.ctx) => {
      const scoped = { ...ctx, em: ctx.em.fork() };
      const sequence = await createSequence(scoped, { name: 'Onboarding', steps: threeSteps(), ...input });
      return (await publishSequence(scoped, sequence.id)).sequence;
    },
    async close() {
      worker.shutdown();
      await running;
      await db.drop();
    },
  };
}

/** Welcome now, a follow-up 3 days later, a last note 4 days after that. */
export function threeSteps(): StepInput[] {
  return [
    {
      id: 'welcome',
      name: 'Welcome',
      delay: 'PT0S',
      subject: 'Welcome, {{ contact.first_name }}',
      html: '<p>Hi</p>',
    },
    {
      id: 'follow-up',
      name: 'Follow-up',
      delay: 'P3D',
      subject: 'Following up',
      html: '<p>Still there?</p>',
    },
    { id: 'last', name: 'Last note', delay: 'P4D', subject: 'Last note', html: '<p>Bye</p>' },
  ];
}
