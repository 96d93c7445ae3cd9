/**
 * The send activity against a real PostgreSQL and the real `resend` SDK pointed at the Resend
 * fake: the ledger (D1), the guard (D2), failures (D4) and the unsubscribe link (D7), including
 * crashes in the middle of a send, simulated by a provider that throws after (or before) the
 * fake has delivered.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { LockMode } from '@mikro-orm/postgresql';
import { createSendStep, deliveryIdempotencyKey, ORPHAN_RETRY_WINDOW_MS } from '../../activities/send.js';
import type { SendStepInput } from '../../activities/types.js';
import type { ServiceContext } from '../../api/context.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { createContact } from '../../api/services/contacts.js';
import { createSequence, publishSequence } from '../../api/services/sequences.js';
import {
  Contact,
  Delivery,
  Enrollment,
  EventLog,
  Sequence,
  SequenceVersion,
} from '../../db/entities/index.js';
import { ResendSender } from '../../email/resend-sender.js';
import type { EmailSender, OutgoingEmail, SendOutcome } from '../../email/sender.js';
import { verifyUnsubscribeToken } from '../../email/unsubscribe.js';
import { startFakeResend, type FakeResend } from '../fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertEnrollmentRow } from '../support/enrollment-row.js';
import { eventually } from '../support/wait.js';
import { silentLogger } from '../support/world.js';

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const PUBLIC_URL = 'https://nudge.example.com';

let db: TestDatabase;
let fake: FakeResend;
let resend: ResendSender;
let ctx: () => ServiceContext;

beforeAll(async () => {
  [db, fake] = await Promise.all([createTestDatabase(), startFakeResend({ apiKey: 're_test' })]);
  resend = new ResendSender('re_test', fake.url);
  const { workspaceId } = await createWorkspaceWithKey(db.orm.em.fork(), 'send tests');
  ctx = () => ({ em: db.orm.em.fork(), workspaceId, temporal: null as never });
}, 60_000);

afterAll(async () => {
  await Promise.all([fake?.close(), db?.drop()]);
});

beforeEach(() => fake.reset());

/** What a provider does on one call: pass through to the fake, optionally "crashing" around it. */
class ScriptedSender implements EmailSender {
  readonly provider = 'resend';
  calls: { email: OutgoingEmail; key: string }[] = [];
  script: ('crash-before' | 'crash-after' | 'call')[] = [];
  onCall: (() => Promise<void>) | null = null;

  async send(email: OutgoingEmail, key: string): Promise<SendOutcome> {
    this.calls.push({ email, key });
    await this.onCall?.();
    const step = this.script.shift() ?? 'call';
    if (step === 'crash-before') throw new Error('worker died before the provider answered');
    const outcome = await resend.send(email, key);
    if (step === 'crash-after') throw new Error('worker died after the provider accepted');
    return outcome;
  }
}

function sendStepWith(sender: EmailSender, clock: () => Date = () => new Date(), sendRatePerSecond?: number) {
  return createSendStep({
    orm: db.orm,
    email: sender,
    config: {
      from: 'Nudge Tests <tests@nudge.test>',
      publicUrl: PUBLIC_URL,
      unsubscribeSecret: SECRET,
      sendRatePerSecond,
    },
    clock,
    logger: silentLogger,
  });
}

/** An active enrollment of a new contact in a new published two-step sequence (no workflow). */
async function enrolled(options: { email?: string; name?: string } = {}) {
  const contact = await createContact(ctx(), {
    email: options.email ?? `${randomUUID()}@example.com`,
    name: options.name ?? 'Ada Lovelace',
    attributes: { company: 'Analytical Engines' },
  });
  const sequence = await createSequence(ctx(), {
    name: 'Onboarding',
    steps: [
      {
        id: 'welcome',
        name: 'Welcome',
        delay: 'PT0S',
        subject: 'Welcome, {{ contact.first_name | default: "there" }}',
        html: '<p>Hello from {{ contact.company }}</p>',
        text: 'Hello from {{ contact.company }}',
      },
      { id: 'tips', name: 'Tips', delay: 'P2D', subject: 'Tips', html: '<p>Tips</p>' },
    ],
  });
  await publishSequence(ctx(), sequence.id);
  const enrollment = await insertEnrollmentRow(db.orm.em.fork(), {
    workspace: contact.workspace,
    sequence: sequence.id,
    contact: contact.id,
  });
  const input: SendStepInput = {
    enrollmentId: enrollment.id,
    generation: 1,
    stepId: 'welcome',
    kind: 'first',
    scheduledAtMs: Date.now(),
    next: { stepId: 'tips', index: 1, dueAtMs: Date.now() + 2 * 86_400_000 },
  };
  return { contact, sequence, enrollment, input, key: deliveryIdempotencyKey(input) };
}

const ledger = (enrollmentId: string) => db.orm.em.fork().find(Delivery, { enrollment: enrollmentId });
const events = (enrollmentId: string, type: string) =>
  db.orm.em.fork().find(EventLog, { enrollment: enrollmentId, type }, { orderBy: { id: 'asc' } });

async function update(entity: any, id: string, values: Record<string, unknown>) {
  await db.orm.em.fork().nativeUpdate(entity, { id }, values);
}

/** What a pause does to the rows a send guards, as every writer: contact, then enrollment, FOR UPDATE. */
function pauseEnrollment(enrollment: Enrollment, onPaused: () => void = () => {}) {
  return db.orm.em.fork().transactional(async (tx) => {
    await tx.findOneOrFail(Contact, enrollment.contact, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const row = await tx.findOneOrFail(Enrollment, enrollment.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
    row.status = 'paused';
    onPaused();
  });
}

describe('D1: exactly once', () => {
  test('D1: the ledger row is committed as `sending`, with the rendered email, before the provider is called', async () => {
    const { input, key, contact } = await enrolled();
    const sender = new ScriptedSender();
    let seenDuringCall: Delivery[] = [];
    sender.onCall = async () => {
      seenDuringCall = await db.orm.em.fork().find(Delivery, { idempotencyKey: key }); // another connection
    };
    const result = await sendStepWith(sender)(input);

    expect(seenDuringCall).toHaveLength(1);
    expect(seenDuringCall[0]).toMatchObject({
      status: 'sending',
      toEmail: contact.email,
      subject: 'Welcome, Ada',
      idempotencyKey: key,
      fromEmail: 'Nudge Tests <tests@nudge.test>',
    });
    expect(result).toMatchObject({ outcome: 'sent', alreadySent: false });
    const [row] = await ledger(input.enrollmentId);
    expect(row).toMatchObject({ status: 'sent', providerMessageId: fake.deliveries()[0]!.id });
    expect(fake.deliveries()[0]!.idempotencyKey).toBe(key);
  });

  test('D1: a crash after the provider accepted is retried with the same request and key, and the email goes out once', async () => {
    const { input, key } = await enrolled();
    const sender = new ScriptedSender();
    sender.script = ['crash-after'];
    const sendStep = sendStepWith(sender);
    await expect(sendStep(input)).rejects.toThrow('after the provider accepted');
    expect(fake.deliveries()).toHaveLength(1);
    expect((await ledger(input.enrollmentId))[0]!.status).toBe('sending'); // survived the rollback

    const retried = await sendStep(input);
    expect(retried).toMatchObject({ outcome: 'sent', providerMessageId: fake.deliveries()[0]!.id });
    expect(sender.calls[1]).toEqual(sender.calls[0]); // byte for byte the same request
    expect(fake.countByIdempotencyKey()[key]).toEqual({ requests: 2, deliveries: 1 });
    expect(fake.deliveries()).toHaveLength(1);
  });

  test('D1: a crash before the provider answered is retried and delivers exactly once', async () => {
    const { input, key } = await enrolled();
    const sender = new ScriptedSender();
    sender.script = ['crash-before'];
    const sendStep = sendStepWith(sender);
    await expect(sendStep(input)).rejects.toThrow('before the provider answered');
    expect(fake.deliveries()).toHaveLength(0);
    expect(await sendStep(input)).toMatchObject({ outcome: 'sent' });
    expect(fake.countByIdempotencyKey()[key]).toEqual({ requests: 1, deliveries: 1 });
  });

  test('D1: a copy edit between a crash and its retry does not change what the retry sends', async () => {
    const { input, sequence } = await enrolled();
    const sender = new ScriptedSender();
    sender.script = ['crash-after'];
    const sendStep = sendStepWith(sender);
    await expect(sendStep(input)).rejects.toThrow();
    const em = db.orm.em.fork();
    const version = await em.findOneOrFail(SequenceVersion, { sequence: sequence.id, version: 1 });
    version.steps = version.steps.map((step) => ({ ...step, subject: 'Edited subject' }));
    await em.flush();

    expect(await sendStep(input)).toMatchObject({ outcome: 'sent' });
    expect(sender.calls[1]!.email.subject).toBe('Welcome, Ada');
    expect(fake.deliveries()).toHaveLength(1);
    expect(fake.stats().byStatus['409'] ?? 0).toBe(0);
  });

  test('D1: a retry of a finished send reports it and never calls the provider', async () => {
    const { input } = await enrolled();
    const sender = new ScriptedSender();
    const sendStep = sendStepWith(sender);
    const first = await sendStep(input);
    const again = await sendStep(input);
    expect(again).toEqual({ ...first, alreadySent: true });
    expect(sender.calls).toHaveLength(1);
  });

  test('D1: an unfinished attempt older than the provider remembers keys is not sent again (outcome_unknown)', async () => {
    const { input } = await enrolled();
    const sender = new ScriptedSender();
    sender.script = ['crash-before'];
    await expect(sendStepWith(sender)(input)).rejects.toThrow();
    const later = () => new Date(Date.now() + ORPHAN_RETRY_WINDOW_MS + 60_000);

    const result = await sendStepWith(sender, later)(input);
    expect(result).toEqual({ outcome: 'failed', reason: 'outcome_unknown', endsEnrollment: false });
    expect(sender.calls).toHaveLength(1);
    expect((await ledger(input.enrollmentId))[0]).toMatchObject({
      status: 'failed',
      failureKind: 'outcome_unknown',
    });
  });

  test('D1/S3: a send in flight holds back a pause until the provider has answered; the next send sees the pause', async () => {
    const { input, enrollment } = await enrolled();
    fake.pauseDeliveries();
    const sending = sendStepWith(new ScriptedSender())(input);
    await fake.waitForPending(1);

    let pausedAt: number | null = null;
    const pausing = pauseEnrollment(enrollment, () => {
      pausedAt = Date.now();
    });
    // The pause blocks on the send's row lock (PostgreSQL says so), and stays blocked.
    await eventually(async () => (await locksWaitedFor()) > 0, { what: 'the pause to wait for the send' });
    expect(pausedAt).toBeNull();
    const deliveredAt = Date.now();
    fake.resumeDeliveries();
    await Promise.all([sending, pausing]);
    expect(pausedAt!).toBeGreaterThanOrEqual(deliveredAt);

    const next = await sendStepWith(new ScriptedSender())({ ...input, stepId: 'tips' });
    expect(next).toEqual({ outcome: 'held', source: 'enrollment', reason: 'enrollment_paused' });
    expect(fake.deliveries()).toHaveLength(1);
  });

  // A send reads and locks its rows in one statement: one that waits for a writer's lock must
  // then see what the writer committed, whichever of the three rows it changed.
  test.each([
    {
      row: 'sequence',
      write: 'update "sequence" set "status" = \'paused\' where "id" = ?',
      id: (of: Awaited<ReturnType<typeof enrolled>>) => of.sequence.id,
      expected: { outcome: 'held', source: 'sequence', reason: 'sequence_paused' },
    },
    {
      row: 'contact',
      write: 'update "contact" set "suppression" = \'unsubscribed\' where "id" = ?',
      id: (of: Awaited<ReturnType<typeof enrolled>>) => of.contact.id,
      expected: { outcome: 'ended', status: 'cancelled', reason: 'contact_unsubscribed' },
    },
    {
      row: 'enrollment',
      write: 'update "enrollment" set "status" = \'paused\' where "id" = ?',
      id: (of: Awaited<ReturnType<typeof enrolled>>) => of.enrollment.id,
      expected: { outcome: 'held', source: 'enrollment', reason: 'enrollment_paused' },
    },
  ])(
    'D2/S3: a send that waits for an uncommitted change of its $row row sees it once committed, and sends nothing',
    async ({ write, id, expected }) => {
      const of = await enrolled();
      let commit!: () => void;
      const committing = new Promise<void>((resolve) => (commit = resolve));
      let wrote!: () => void;
      const written = new Promise<void>((resolve) => (wrote = resolve));
      const writer = db.orm.em.fork().transactional(async (tx) => {
        await tx.getConnection().execute(write, [id(of)], 'run', tx.getTransactionContext());
        wrote(); // the row is locked by the uncommitted change from here on
        await committing;
      });
      await Promise.race([written, writer]); // a writer that fails says why, rather than hanging
      const sending = sendStepWith(new ScriptedSender())(of.input);
      await eventually(async () => (await locksWaitedFor()) > 0, { what: 'the send to wait for the writer' });
      commit();
      await writer;

      expect(await sending).toMatchObject(expected);
      expect(fake.deliveries()).toHaveLength(0);
      expect(await ledger(of.input.enrollmentId)).toHaveLength(0);
    },
  );
});

/** Sessions of this test database waiting for a row lock. */
async function locksWaitedFor(): Promise<number> {
  const [row] = await db.orm.em
    .fork()
    .getConnection()
    .execute<{ waiting: string }[]>(
      `select count(*) as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
  return Number(row!.waiting);
}

describe('D2/D5: sends waiting for the provider rate', () => {
  test('D2/D5: a pause is not held back by a send queued for its turn, and that send then holds its step', async () => {
    const { input, enrollment } = await enrolled();
    const paced = sendStepWith(new ScriptedSender(), undefined, 0.5); // one call per 2,050 ms
    expect(await paced(input)).toMatchObject({ outcome: 'sent' });
    const finished: string[] = [];
    const queued = paced({ ...input, stepId: 'tips' }).finally(() => finished.push('send')); // turn in 2 s
    await new Promise((resolve) => setTimeout(resolve, 200));

    await pauseEnrollment(enrollment).then(() => finished.push('pause'));
    // Had the queued send waited inside its guard, it would hold the enrollment row, the pause
    // would wait for it to finish, and the step would go out.
    expect(finished).toEqual(['pause']);
    expect(await queued).toEqual({ outcome: 'held', source: 'enrollment', reason: 'enrollment_paused' });
    expect(fake.deliveries()).toHaveLength(1);
    // It was rendered and journaled before it queued; the provider never saw it, so no row is left.
    expect((await ledger(enrollment.id)).map((row) => row.stepId)).toEqual(['welcome']);
  });

  test('D3/D5: a contact edited while its send waits for its turn gets the email rendered afresh, once', async () => {
    const paced = sendStepWith(new ScriptedSender(), undefined, 0.5);
    const first = await enrolled();
    expect(await paced(first.input)).toMatchObject({ outcome: 'sent' });
    const second = await enrolled({ name: 'Ada Lovelace' });
    const queued = paced(second.input); // rendered now for Ada, then two seconds in the queue
    await eventually(async () => (await ledger(second.enrollment.id)).length === 1, {
      what: 'the queued send to be journaled',
    });
    await update(Contact, second.contact.id, { name: 'Grace Hopper' });

    expect(await queued).toMatchObject({ outcome: 'sent' });
    const [row, ...others] = await ledger(second.enrollment.id);
    expect(others).toEqual([]);
    expect(row).toMatchObject({ status: 'sent', subject: 'Welcome, Grace' });
    expect(fake.deliveries().map((email) => email.subject)).toEqual(['Welcome, Ada', 'Welcome, Grace']);
  });
});

describe('D2: the send-time guard', () => {
  const cases: {
    name: string;
    arrange: (fixture: Awaited<ReturnType<typeof enrolled>>) => Promise<void | Partial<SendStepInput>>;
    expected: object;
  }[] = [
    {
      name: 'a paused sequence holds the step',
      // The revision the guard saw goes back, so the workflow can order it against resumes.
      arrange: ({ sequence }) => update(Sequence, sequence.id, { status: 'paused', revision: 7 }),
      expected: { outcome: 'held', source: 'sequence', reason: 'sequence_paused', revision: 7 },
    },
    {
      name: 'a deleted sequence ends the enrollment',
      arrange: ({ sequence }) => update(Sequence, sequence.id, { status: 'deleted' }),
      expected: { outcome: 'ended', status: 'cancelled', reason: 'sequence_deleted' },
    },
    {
      name: 'a paused enrollment holds the step',
      arrange: ({ enrollment }) => update(Enrollment, enrollment.id, { status: 'paused' }),
      expected: { outcome: 'held', source: 'enrollment', reason: 'enrollment_paused' },
    },
    {
      name: 'a stopped enrollment ends',
      arrange: ({ enrollment }) =>
        update(Enrollment, enrollment.id, { status: 'cancelled', endReason: 'replied' }),
      expected: { outcome: 'ended', status: 'cancelled', reason: 'replied' },
    },
    {
      name: 'a suppressed contact ends the enrollment (E12)',
      arrange: ({ contact }) => update(Contact, contact.id, { suppression: 'unsubscribed' }),
      expected: { outcome: 'ended', status: 'cancelled', reason: 'contact_unsubscribed' },
    },
    {
      name: 'a step no longer in the live version is not sent',
      arrange: async () => ({ stepId: 'removed-step' }),
      expected: { outcome: 'step_removed', reason: 'step_not_in_live_version' },
    },
    {
      name: 'an older generation is superseded',
      arrange: ({ enrollment }) => update(Enrollment, enrollment.id, { generation: 2 }),
      expected: { outcome: 'ended', status: 'cancelled', reason: 'superseded' },
    },
  ];

  test.each(cases)('D2: $name, recorded with its reason, and nothing reaches the provider', async (c) => {
    const fixture = await enrolled();
    const overrides = (await c.arrange(fixture)) ?? {};
    const sender = new ScriptedSender();
    const result = await sendStepWith(sender)({ ...fixture.input, ...overrides });
    expect(result).toEqual(c.expected);
    expect(sender.calls).toHaveLength(0);
    expect(await ledger(fixture.enrollment.id)).toHaveLength(0);
    const [refused] = await events(fixture.enrollment.id, 'send.refused');
    expect(refused!.data).toMatchObject(c.expected);
  });

  test('D2/D1: a held step keeps its unfinished attempt and finishes it on resume; an ended one closes it as outcome_unknown', async () => {
    const held = await enrolled();
    const sender = new ScriptedSender();
    sender.script = ['crash-after'];
    const sendStep = sendStepWith(sender);
    await expect(sendStep(held.input)).rejects.toThrow();
    await update(Enrollment, held.enrollment.id, { status: 'paused' });
    expect(await sendStep(held.input)).toMatchObject({ outcome: 'held' });
    expect((await ledger(held.enrollment.id))[0]!.status).toBe('sending');
    await update(Enrollment, held.enrollment.id, { status: 'active' });
    expect(await sendStep(held.input)).toMatchObject({ outcome: 'sent' });
    expect(fake.deliveriesTo(held.contact.email)).toHaveLength(1);

    const ended = await enrolled();
    sender.script = ['crash-before'];
    await expect(sendStep(ended.input)).rejects.toThrow();
    await update(Contact, ended.contact.id, { suppression: 'complained' });
    expect(await sendStep(ended.input)).toMatchObject({ outcome: 'ended', reason: 'contact_complained' });
    expect((await ledger(ended.enrollment.id))[0]).toMatchObject({
      status: 'failed',
      failureKind: 'outcome_unknown',
    });
    expect(fake.deliveriesTo(ended.contact.email)).toHaveLength(0);
  });
});

describe('E1/D1: the last step: its send completes the enrollment (one activity fewer)', () => {
  /** The second and last step of `enrolled()`, as the workflow asks for it. */
  async function lastStep() {
    const setup = await enrolled();
    const { liveVersion } = await db.orm.em.fork().findOneOrFail(Sequence, setup.sequence.id);
    const input: SendStepInput = { ...setup.input, stepId: 'tips', next: null, lastOfVersion: liveVersion! };
    return { ...setup, input };
  }
  const enrollmentRow = (id: string) => db.orm.em.fork().findOneOrFail(Enrollment, id);

  test('sent with the plan still live: the same transaction records it completed, and a retry says so without sending', async () => {
    const { enrollment, input } = await lastStep();
    const sender = new ScriptedSender();
    const sendStep = sendStepWith(sender);
    expect(await sendStep(input)).toMatchObject({ outcome: 'sent', completedEnrollment: true });
    expect(await enrollmentRow(enrollment.id)).toMatchObject({
      status: 'completed',
      endReason: 'all_steps_done',
      currentStepId: null,
      dueAt: null,
    });
    expect((await enrollmentRow(enrollment.id)).endedAt).toBeInstanceOf(Date);
    const ended = await events(enrollment.id, 'enrollment.ended');
    expect(ended.map((event) => event.data)).toEqual([
      { status: 'completed', reason: 'all_steps_done', generation: 1 },
    ]);
    // A worker that died before reporting: the retry reports both, and the provider is not called again.
    expect(await sendStep(input)).toMatchObject({
      outcome: 'sent',
      alreadySent: true,
      completedEnrollment: true,
    });
    expect(sender.calls).toHaveLength(1);
  });

  test('a version published since (it may add steps) or an active tag to remove leaves the ending to finishEnrollment', async () => {
    const republished = await lastStep();
    const em = db.orm.em.fork();
    const live = await em.findOneOrFail(SequenceVersion, {
      sequence: republished.sequence.id,
      version: republished.input.lastOfVersion!,
    });
    em.create(SequenceVersion, {
      sequence: republished.sequence.id,
      version: live.version + 1,
      steps: [...live.steps, { ...live.steps[1]!, id: 'more' }],
    });
    await em.flush();
    await update(Sequence, republished.sequence.id, { liveVersion: live.version + 1 });

    const tagged = await lastStep();
    await update(Sequence, tagged.sequence.id, { activeTag: 'in-onboarding' });

    for (const { enrollment, input } of [republished, tagged]) {
      expect(await sendStepWith(new ScriptedSender())(input)).toMatchObject({
        outcome: 'sent',
        completedEnrollment: false,
      });
      expect(await enrollmentRow(enrollment.id)).toMatchObject({ status: 'active', endedAt: null });
      expect(await events(enrollment.id, 'enrollment.ended')).toEqual([]);
    }
  });
});

describe('D4: provider failures', () => {
  test('D4: an invalid recipient fails the delivery with the provider’s reason and ends the enrollment', async () => {
    const { input, contact } = await enrolled();
    fake.rejectRecipients(contact.email);
    const result = await sendStepWith(new ScriptedSender())(input);
    expect(result).toEqual({ outcome: 'failed', reason: 'invalid_recipient', endsEnrollment: true });
    const [row] = await ledger(input.enrollmentId);
    expect(row).toMatchObject({ status: 'failed', failureKind: 'invalid_recipient' });
    expect(row!.error).toContain('Invalid `to` field');
  });

  test('D4: rejected content fails the delivery, skips the step and keeps the enrollment going', async () => {
    const { input, contact, enrollment } = await enrolled();
    fake.rejectRecipients(contact.email, {
      status: 422,
      name: 'validation_error',
      message: 'The `html` field contains content we cannot send.',
    });
    const result = await sendStepWith(new ScriptedSender())(input);
    expect(result).toEqual({ outcome: 'failed', reason: 'rejected_content', endsEnrollment: false });
    expect((await ledger(input.enrollmentId))[0]).toMatchObject({
      status: 'failed',
      failureKind: 'rejected_content',
      error: 'validation_error (422): The `html` field contains content we cannot send.',
    });
    const row = await db.orm.em.fork().findOneOrFail(Enrollment, enrollment.id);
    expect(row.currentStepId).toBe('tips');
  });

  test('D4: a 429 is retried after the provider’s retry-after, leaving no ledger row behind', async () => {
    const { input } = await enrolled();
    fake.failNext({ status: 429, retryAfterSeconds: 7 });
    const error = await sendStepWith(new ScriptedSender())(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).nextRetryDelay).toBe(7000);
    expect(await ledger(input.enrollmentId)).toHaveLength(0);
    const [retrying] = await events(input.enrollmentId, 'delivery.retrying');
    expect(String(retrying!.data.reason)).toContain('rate_limit_exceeded');
  });

  test('D4: a 5xx or a lost connection is retried with backoff and the retry delivers once', async () => {
    for (const fault of [{ status: 500 }, { status: 503, afterDelivery: true }, { dropConnection: true }]) {
      const { input, key } = await enrolled();
      fake.failNext(fault);
      const sendStep = sendStepWith(new ScriptedSender());
      const error = await sendStep(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).nextRetryDelay).toBeUndefined(); // the workflow's backoff
      expect(await sendStep(input)).toMatchObject({ outcome: 'sent' });
      expect(fake.countByIdempotencyKey()[key]!.deliveries).toBe(1);
    }
  });

  test('D4: a template that cannot render for this contact fails the delivery as rejected content', async () => {
    const { input, sequence } = await enrolled();
    const em = db.orm.em.fork();
    const version = await em.findOneOrFail(SequenceVersion, { sequence: sequence.id, version: 1 });
    version.steps = version.steps.map((step) => ({ ...step, html: '{{ contact.name | no_such_filter }}' }));
    await em.flush();
    const sender = new ScriptedSender();
    expect(await sendStepWith(sender)(input)).toEqual({
      outcome: 'failed',
      reason: 'rejected_content',
      endsEnrollment: false,
    });
    expect(sender.calls).toHaveLength(0);
    const [row] = await ledger(input.enrollmentId);
    expect(row).toMatchObject({ status: 'failed', failureKind: 'rejected_content' });
    expect(row!.error).toContain('the html template does not render');
  });
});

describe('D3/D7: what the email carries', () => {
  test('D3: rendered with contact fields, custom attributes and defaults, in HTML and plain text', async () => {
    const { input } = await enrolled({ name: '' });
    await sendStepWith(new ScriptedSender())(input);
    const [email] = fake.deliveries();
    expect(email!.subject).toBe('Welcome, there');
    expect(email!.html).toContain('<p>Hello from Analytical Engines</p>');
    expect(email!.text).toMatch(/^Hello from Analytical Engines\n/);
  });

  test('D7: every email has a signed unsubscribe link for its contact and RFC 8058 one-click headers', async () => {
    const { input, contact } = await enrolled();
    await sendStepWith(new ScriptedSender())(input);
    const [email] = fake.deliveries();
    const [row] = await ledger(input.enrollmentId);
    const match = /^<(https:\/\/nudge\.example\.com\/unsubscribe\/([^>]+))>$/.exec(
      email!.headers['List-Unsubscribe']!,
    );
    expect(match).not.toBeNull();
    expect(email!.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(email!.html).toContain(`href="${match![1]}"`);
    expect(email!.text).toContain(`Unsubscribe: ${match![1]}`);
    const subject = { workspaceId: contact.workspace, contactId: contact.id, deliveryId: row!.id };
    expect(verifyUnsubscribeToken(SECRET, match![2]!, subject)).toBe(true);
    expect(email!.tags).toEqual([{ name: 'nudge_delivery', value: row!.id }]);
  });
});
