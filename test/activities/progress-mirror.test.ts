/**
 * The database's mirror of the step an enrollment waits for (DESIGN §4), against a real
 * PostgreSQL: `loadPlan` writes it for the plan it returns when the workflow hands over its
 * progress (no `recordProgress` after it), and no late mirror moves an enrollment that has ended.
 */
import { randomUUID } from 'node:crypto';
import { createBookkeeping } from '../../activities/bookkeeping.js';
import { createLoadPlan } from '../../activities/plan.js';
import type { ActivityDeps } from '../../activities/deps.js';
import type { ServiceContext } from '../../api/context.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { createContact } from '../../api/services/contacts.js';
import { createSequence, publishSequence } from '../../api/services/sequences.js';
import { Enrollment } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertEnrollmentRow } from '../support/enrollment-row.js';
import { silentLogger } from '../support/world.js';

const DAY = 24 * 60 * 60 * 1000;

let db: TestDatabase;
let ctx: () => ServiceContext;
let loadPlan: ReturnType<typeof createLoadPlan>;
let recordProgress: ReturnType<typeof createBookkeeping>['recordProgress'];

beforeAll(async () => {
  db = await createTestDatabase();
  const { workspaceId } = await createWorkspaceWithKey(db.orm.em.fork(), 'mirror tests');
  ctx = () => ({ em: db.orm.em.fork(), workspaceId, temporal: null as never });
  const deps = { orm: db.orm, clock: () => new Date(), logger: silentLogger } as unknown as ActivityDeps;
  loadPlan = createLoadPlan(deps);
  recordProgress = createBookkeeping(deps).recordProgress;
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

/** An active enrollment (no workflow) in a new published sequence: now, in 2 days, 3 days after that. */
async function enrolled() {
  const contact = await createContact(ctx(), { email: `${randomUUID()}@example.com` });
  const sequence = await createSequence(ctx(), {
    name: 'Mirror',
    steps: [
      { id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Hi', html: '<p>Hi</p>' },
      { id: 'tips', name: 'Tips', delay: 'P2D', subject: 'Tips', html: '<p>Tips</p>' },
      { id: 'last', name: 'Last', delay: 'P3D', subject: 'Last', html: '<p>Last</p>' },
    ],
  });
  await publishSequence(ctx(), sequence.id);
  const enrollment = await insertEnrollmentRow(db.orm.em.fork(), {
    workspace: contact.workspace,
    sequence: sequence.id,
    contact: contact.id,
  });
  return { enrollmentId: enrollment.id, generation: 1 };
}

const row = (id: string) => db.orm.em.fork().findOneOrFail(Enrollment, id);

test('§4: loadPlan, given the progress, mirrors the step the plan makes next and says so', async () => {
  const ref = await enrolled();
  const anchorMs = Date.parse('2026-12-01T09:00:00Z');

  const fresh = await loadPlan({ ...ref, progress: { anchorMs, doneStepIds: [] } });
  expect(fresh).toMatchObject({ kind: 'plan', mirrored: { stepId: 'welcome', index: 0, dueAtMs: anchorMs } });
  expect(await row(ref.enrollmentId)).toMatchObject({
    currentStepId: 'welcome',
    currentStepIndex: 0,
    dueAt: new Date(anchorMs),
  });

  // A re-plan later in the run: the step after the last one done, due from the new anchor.
  const later = await loadPlan({ ...ref, progress: { anchorMs: anchorMs + DAY, doneStepIds: ['welcome'] } });
  expect(later).toMatchObject({ mirrored: { stepId: 'tips', index: 1, dueAtMs: anchorMs + 3 * DAY } });
  expect(await row(ref.enrollmentId)).toMatchObject({
    currentStepId: 'tips',
    dueAt: new Date(anchorMs + 3 * DAY),
  });

  // Every step done: nothing to wait for, nothing written (the workflow's ending clears it).
  const done = await loadPlan({ ...ref, progress: { anchorMs, doneStepIds: ['welcome', 'tips', 'last'] } });
  expect(done).toMatchObject({ kind: 'plan', mirrored: null });
  expect((await row(ref.enrollmentId)).currentStepId).toBe('tips');
});

test('§4: loadPlan without the progress (a workflow from before) mirrors nothing and says nothing', async () => {
  const ref = await enrolled();
  const loaded = await loadPlan(ref);
  expect(loaded.kind).toBe('plan');
  expect(loaded).not.toHaveProperty('mirrored');
  expect(await row(ref.enrollmentId)).toMatchObject({ currentStepId: null, dueAt: null });
});

test('§4: a late mirror never moves an enrollment that has ended', async () => {
  const ref = await enrolled();
  const next = { stepId: 'tips', index: 1, dueAtMs: Date.now() + 2 * DAY };
  await recordProgress({ ...ref, next });
  expect((await row(ref.enrollmentId)).currentStepId).toBe('tips');

  // Stopped through the API meanwhile: its ending cleared the step.
  await db.orm.em
    .fork()
    .nativeUpdate(
      Enrollment,
      { id: ref.enrollmentId },
      { status: 'cancelled', currentStepId: null, currentStepIndex: null, dueAt: null },
    );
  await recordProgress({ ...ref, next: { stepId: 'last', index: 2, dueAtMs: Date.now() + 5 * DAY } });
  expect(await row(ref.enrollmentId)).toMatchObject({
    status: 'cancelled',
    currentStepId: null,
    dueAt: null,
  });
});
