/**
 * Cost per step: history events and billable Temporal actions per sent step, read from the
 * real histories of enrollments run end to end (worker and API processes, dev server,
 * PostgreSQL, Resend fake). One more step's cost is measured as the difference between a
 * 1-step and a 6-step sequence, divided by 5; the rest is the per-enrollment overhead.
 * Targets: ≤ 12 events and ≤ 3 actions per step.
 */
import { Enrollment } from '../db/entities/index.js';
import { eventually } from '../test/support/wait.js';
import { averageCost, historyCost, marginalCost, type HistoryCost } from './support/history.js';
import { writeResults } from './support/results.js';
import { apiClient, mapConcurrent, publishSequence, startStack } from './support/stack.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 20);
const LONG_STEPS = 6;

const stack = await startStack();
try {
  stack.startWorker();
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);

  const sequence = (steps: number) =>
    publishSequence(call, {
      name: `${steps}-step`,
      steps: Array.from({ length: steps }, (_, i) => ({
        id: `s${i + 1}`,
        name: `Step ${i + 1}`,
        delay: 'PT3S',
        subject: `Step ${i + 1} for {{ contact.first_name }}`,
        html: '<p>Hello</p>',
      })),
    });
  const runs = async (sequenceId: string, label: string): Promise<HistoryCost> => {
    const enrollments = await mapConcurrent(
      Array.from({ length: CONTACTS }, (_, i) => i),
      10,
      async (i) => {
        const contact = await call('POST', '/contacts', {
          email: `${label}-${i}@bench.test`,
          name: `Bench ${i}`,
        });
        return (await call('POST', `/sequences/${sequenceId}/enrollments`, { contactId: contact.body.id }))
          .body;
      },
    );
    await eventually(
      async () =>
        (await stack.db.orm.em.fork().count(Enrollment, { sequence: sequenceId, status: 'completed' })) ===
        CONTACTS,
      { timeoutMs: 300_000, what: `${label} enrollments to complete` },
    );
    // The workflow returns right after its last bookkeeping activity; give the close a moment.
    await eventually(async () => {
      const statuses = await Promise.all(
        enrollments.map(
          async (e) => (await stack.client.workflow.getHandle(e.workflowId).describe()).status.name,
        ),
      );
      return statuses.every((s) => s === 'COMPLETED');
    });
    return averageCost(await Promise.all(enrollments.map((e) => historyCost(stack.client, e.workflowId))));
  };

  const short = await runs(await sequence(1), 'one');
  const long = await runs(await sequence(LONG_STEPS), 'six');
  // The figures only mean something if every step really went out, once.
  const stats = await stack.fake.stats();
  const expected = CONTACTS * (1 + LONG_STEPS);
  if (stats.deliveries !== expected || stats.duplicates.idempotencyKeys > 0) {
    throw new Error(`expected ${expected} deliveries without duplicates, fake saw ${JSON.stringify(stats)}`);
  }
  const perStep = marginalCost(short, long, LONG_STEPS - 1);
  const overheadEvents = short.events - perStep.events;
  const overheadActions = short.actions - perStep.actions;
  const breakdown = (record: Record<string, number>) =>
    Object.entries(record)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${Number(v.toFixed(2))}`)
      .join(', ');

  await writeResults(
    'cost-per-step',
    'Cost per step (history events and billable actions)',
    [
      {
        name: 'history events per sent step',
        value: perStep.events.toFixed(2),
        target: '≤ 12',
        ok: perStep.events <= 12,
      },
      {
        name: 'billable actions per sent step',
        value: perStep.actions.toFixed(2),
        target: '≤ 3',
        ok: perStep.actions <= 3,
      },
      { name: 'per-enrollment overhead (events)', value: overheadEvents.toFixed(2) },
      { name: 'per-enrollment overhead (actions)', value: overheadActions.toFixed(2) },
      {
        name: '1-step enrollment total (events / actions)',
        value: `${short.events.toFixed(1)} / ${short.actions.toFixed(1)}`,
      },
      {
        name: `${LONG_STEPS}-step enrollment total (events / actions)`,
        value: `${long.events.toFixed(1)} / ${long.actions.toFixed(1)}`,
      },
    ],
    [
      `Per step, events: ${breakdown(perStep.eventsByType)}.`,
      `Per step, actions: ${breakdown(perStep.actionsByType)}.`,
      `Per enrollment (1-step run), actions: ${breakdown(short.actionsByType)}.`,
      `Per enrollment (${LONG_STEPS}-step run), events: ${breakdown(long.eventsByType)}.`,
      `Method: ${CONTACTS} enrollments each of a 1-step and a ${LONG_STEPS}-step sequence (delays of 3 s), run to completion; ` +
        `one step = (${LONG_STEPS}-step − 1-step) / ${LONG_STEPS - 1}. Actions counted from the histories per Temporal Cloud's definition.`,
    ],
  );
} finally {
  await stack.stop();
}
