/**
 * Metrics and logs of the real processes (worker/main.ts, api/main.ts) against a Temporal dev
 * server and PostgreSQL, emails going to the development outbox: what an engineer scrapes
 * and reads when running Nudge.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { Enrollment } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const METRICS_TOKEN = 'metrics-token-for-the-e2e-test';
// Each test waits on real processes (a send, a scrape); the deadlines only turn hangs into failures.
const TEST_TIMEOUT_MS = 120_000;

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let worker: NudgeProcess;
let api: NudgeProcess;
let apiUrl: string;
let workerUrl: string;
let apiKey: string;

beforeAll(async () => {
  [temporal, db] = await Promise.all([startDevServer(), createTestDatabase()]);
  const [apiPort, metricsPort, sdkMetricsPort] = [await freePort(), await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${apiPort}`;
  workerUrl = `http://127.0.0.1:${metricsPort}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `observability-${randomUUID()}`,
    PORT: String(apiPort),
    METRICS_PORT: String(metricsPort),
    TEMPORAL_SDK_METRICS_PORT: String(sdkMetricsPort),
    METRICS_TOKEN,
    LOG_LEVEL: 'info',
  };
  worker = startProcess('worker/main.ts', env);
  api = startProcess('api/main.ts', env);
  apiKey = (await createWorkspaceWithKey(db.orm.em.fork(), 'observability')).apiKey.key;
  await eventually(async () => (await fetch(`${apiUrl}/healthz`)).ok, {
    timeoutMs: 60_000,
    what: 'the API',
    detail: () => api.output(),
  });
  await eventually(async () => (await fetch(`${workerUrl}/healthz`)).ok, {
    timeoutMs: 60_000,
    what: 'the worker',
    detail: () => worker.output(),
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), api?.stop()]);
  await Promise.all([db?.drop(), temporal?.teardown()]);
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one series, e.g. `nudge_emails_sent_total{kind="first",provider="outbox"}`. */
function sample(metrics: string, series: string): number | null {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

async function until(series: string, value: number): Promise<string> {
  return eventually(
    async () => {
      const metrics = await scrape(workerUrl);
      return sample(metrics, series) === value ? metrics : null;
    },
    { what: `${series} = ${value}`, detail: () => worker.output() },
  );
}

function jsonLines(output: string): Record<string, any>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

async function publishedSequence(steps: unknown[]) {
  const sequence = await call('POST', '/sequences', { name: `Observability ${randomUUID()}`, steps });
  expect(sequence.status).toBe(201);
  expect((await call('POST', `/sequences/${sequence.body.id}/publish`)).status).toBe(200);
  return sequence.body;
}

async function enroll(sequenceId: string, name = 'Ada Lovelace') {
  const contact = await call('POST', '/contacts', { email: `${randomUUID()}@example.com`, name });
  const enrollment = await call('POST', `/sequences/${sequenceId}/enrollments`, {
    contactId: contact.body.id,
  });
  expect(enrollment.status).toBe(201);
  return enrollment.body;
}

test(
  '/metrics on both processes answers only with the metrics token when one is set',
  async () => {
    for (const baseUrl of [apiUrl, workerUrl]) {
      expect((await fetch(`${baseUrl}/metrics`)).status).toBe(401);
      const wrong = await fetch(`${baseUrl}/metrics`, {
        headers: { authorization: 'Bearer not-the-token-at-all' },
      });
      expect(wrong.status).toBe(401);
      expect(await scrape(baseUrl)).toContain('process_cpu_seconds_total');
    }
  },
  TEST_TIMEOUT_MS,
);

test(
  'the API exposes request rate and latency by route template, never by raw URL',
  async () => {
    const sequence = await publishedSequence([
      { id: 'welcome', name: 'Welcome', delay: 'P1D', subject: 'Hi', html: '<p>Hi</p>' },
    ]);
    const enrollment = await enroll(sequence.id);
    expect((await call('GET', `/enrollments/${enrollment.id}`)).status).toBe(200);
    expect((await call('GET', `/enrollments/${randomUUID()}`)).status).toBe(404);

    const metrics = await scrape(apiUrl);
    expect(metrics).toContain('# TYPE http_request_duration_seconds histogram');
    const count = (method: string, route: string, status: number) =>
      sample(
        metrics,
        `http_request_duration_seconds_count{method="${method}",route="${route}",status_code="${status}"}`,
      );
    expect(count('POST', '/sequences/:sequenceId/enrollments', 201)).toBe(1);
    expect(count('GET', '/enrollments/:enrollmentId', 200)).toBe(1);
    expect(count('GET', '/enrollments/:enrollmentId', 404)).toBe(1);
    expect(metrics).toMatch(
      /^http_request_duration_seconds_bucket\{le="0\.1",method="POST",route="\/contacts",status_code="201"\} \d+$/m,
    );
    expect(metrics).not.toContain(enrollment.id);
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');
  },
  TEST_TIMEOUT_MS,
);

test(
  'the worker exposes the domain counters (sent, held by pause, cancelled) and the Temporal SDK worker metrics on one /metrics',
  async () => {
    const before = await scrape(workerUrl);
    for (const series of [
      'nudge_emails_sent_total{kind="first",provider="outbox"}',
      'nudge_sends_held_total{source="enrollment"}',
      'nudge_steps_skipped_total{reason="expired"}',
      'nudge_sends_failed_total',
      'nudge_enrollments_ended_total{status="cancelled"}',
    ]) {
      expect(sample(before, series)).not.toBeNull();
    }
    const sentBefore = sample(before, 'nudge_emails_sent_total{kind="first",provider="outbox"}')!;

    // Sent: a welcome that goes at once.
    const now = await publishedSequence([
      { id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Welcome', html: '<p>Hi</p>' },
      { id: 'later', name: 'Later', delay: 'P7D', subject: 'Later', html: '<p>Later</p>' },
    ]);
    const sent = await enroll(now.id);
    await until('nudge_emails_sent_total{kind="first",provider="outbox"}', sentBefore + 1);

    // Cancelled: stopping it ends the run (E4).
    expect((await call('POST', `/enrollments/${sent.id}/cancel`, {})).status).toBe(200);
    await until('nudge_enrollments_ended_total{status="cancelled"}', 1);

    // Held by a pause: the pause lands in the database while the step is falling due (the race
    // the send-time guard exists for, D2), so the guard refuses and the step is held (E8).
    const soon = await publishedSequence([
      { id: 'soon', name: 'Soon', delay: 'PT3S', subject: 'Soon', html: '<p>Soon</p>' },
    ]);
    const held = await enroll(soon.id);
    await db.orm.em
      .fork()
      .nativeUpdate(Enrollment, { id: held.id }, { status: 'paused', pausedAt: new Date() });
    await until('nudge_sends_held_total{source="enrollment"}', 1);
    expect((await call('POST', `/enrollments/${held.id}/resume`)).status).toBe(200);
    await until('nudge_emails_sent_total{kind="first",provider="outbox"}', sentBefore + 2);

    // Skipped and failed are counted by the same interceptor; test/workflow/metrics.test.ts
    // drives them on the time-skipping server.
    const metrics = await scrape(workerUrl);
    expect(sample(metrics, 'nudge_sends_failed_total')).toBe(0);

    // The Temporal SDK's own worker metrics, merged into the same scrape.
    expect(metrics).toMatch(/^temporal_worker_task_slots_available\{.*worker_type="ActivityWorker".*\} \d+/m);
    expect(metrics).toMatch(/^temporal_activity_execution_latency_seconds_count\{activity_type="sendStep",/m);
    expect(metrics).toMatch(/^temporal_workflow_task_execution_latency_seconds_bucket\{/m);
    expect(metrics).toMatch(/^temporal_num_pollers\{/m);
  },
  TEST_TIMEOUT_MS,
);

test(
  'logs are JSON lines that carry the request id (echoed as x-request-id) and the workflow, run and enrollment ids',
  async () => {
    const sequence = await publishedSequence([
      { id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Logged welcome', html: '<p>Hi</p>' },
    ]);
    const contact = await call('POST', '/contacts', { email: `${randomUUID()}@example.com` });
    const enrolled = await call(
      'POST',
      `/sequences/${sequence.id}/enrollments`,
      { contactId: contact.body.id },
      { 'x-request-id': 'req-e2e-observability-1' },
    );
    expect(enrolled.headers.get('x-request-id')).toBe('req-e2e-observability-1');
    const generated = await call('GET', '/contacts/' + contact.body.id, undefined, {
      'x-request-id': 'not a token',
    });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // The API's lines come through a pipe from its process: they may trail the response.
    const linesOfRequest = () =>
      jsonLines(api.output()).filter((line) => line.requestId === 'req-e2e-observability-1');
    const requestLines = await eventually(
      async () => {
        const lines = linesOfRequest();
        return lines.some((line) => line.msg === 'request completed') ? lines : undefined;
      },
      { what: "the request's log lines", detail: () => api.output() },
    );
    expect(requestLines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request completed']),
    );
    expect(requestLines.every((line) => line.service === 'nudge-api')).toBe(true);

    const { workflowId, id: enrollmentId } = enrolled.body;
    const sentLine = await eventually(
      async () =>
        jsonLines(worker.output()).find((line) => line.msg === 'step sent' && line.workflowId === workflowId),
      { what: 'the "step sent" log line', detail: () => worker.output() },
    );
    expect(sentLine).toMatchObject({
      service: 'nudge-worker',
      enrollmentId,
      generation: 1,
      activityType: 'sendStep',
      stepId: 'welcome',
      runId: expect.stringMatching(/\S/),
    });
    // A line written deep inside the activity (the outbox provider) carries the same ids.
    expect(
      jsonLines(worker.output()).find(
        (line) => line.msg === 'outbox: email kept, not sent' && line.workflowId === workflowId,
      ),
    ).toMatchObject({ enrollmentId, runId: sentLine.runId, subject: 'Logged welcome' });
    // The Temporal SDK's own logs are JSON lines through the same logger.
    expect(
      jsonLines(worker.output()).some(
        (line) => line.component === 'temporal' && line.sdkComponent === 'worker',
      ),
    ).toBe(true);
  },
  TEST_TIMEOUT_MS,
);
