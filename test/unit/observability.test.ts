/** The small pure pieces of observability: who may read /metrics, run metadata, HTML escaping, the SDK log adapter. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { html, SafeHtml } from '../../api/html.js';
import { withLogContext } from '../../config/log-context.js';
import { metricsAccessAllowed } from '../../config/metrics.js';
import { temporalLoggerFor } from '../../worker/runtime.js';
import { enrollmentDetails, enrollmentSummary } from '../../workflows/run-metadata.js';
import { createLogger } from '../../config/logger.js';

test('/metrics: open without a token; with one, only the exact bearer token opens it', () => {
  expect(metricsAccessAllowed(null, undefined)).toBe(true);
  const token = 'a-metrics-token-of-some-length';
  expect(metricsAccessAllowed(token, `Bearer ${token}`)).toBe(true);
  expect(metricsAccessAllowed(token, `bearer ${token}`)).toBe(true);
  expect(metricsAccessAllowed(token, undefined)).toBe(false);
  expect(metricsAccessAllowed(token, `Bearer ${token}x`)).toBe(false);
  expect(metricsAccessAllowed(token, `Basic ${token}`)).toBe(false);
});

test('a run reads "Onboarding → ada@example.com"; its details keep user text from turning into Markdown', () => {
  expect(enrollmentSummary({ sequence: { name: 'Onboarding' }, contact: { email: 'ada@example.com' } })).toBe(
    'Onboarding → ada@example.com',
  );
  const details = enrollmentDetails({
    sequence: { id: 'seq-1', name: 'Q4 *launch* [beta]' },
    contact: { email: 'ada_l@example.com', name: 'Ada <Lovelace>' },
    enrollmentId: 'enr-1',
    generation: 2,
    timeZone: 'Europe/Paris',
  });
  expect(details.split('\n')).toEqual([
    '- **Sequence** Q4 \\*launch\\* \\[beta\\] · `seq-1`',
    '- **Contact** Ada \\<Lovelace\\> · `ada_l@example.com` · sends in Europe/Paris',
    '- **Enrollment** `enr-1` · generation 2',
  ]);
});

test('pages escape every interpolated value unless it is trusted HTML', () => {
  const name = '<script>alert("x")</script>';
  expect(html`<td>${name}</td>`.value).toBe('<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>');
  expect(html`<a href="${'" onclick="x'}"></a>`.value).toBe('<a href="&quot; onclick=&quot;x"></a>');
  const items = [html`<li>${'a&b'}</li>`, html`<li>${2}</li>`];
  expect(html`${items}`.value).toBe('<li>a&amp;b</li><li>2</li>');
  expect(html`${new SafeHtml('<b>ok</b>')}${null}${undefined}`.value).toBe('<b>ok</b>');
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, stream };
}

test('log lines carry the ids of the activity they are written in, and only those', () => {
  const { lines, stream } = capture();
  const withIds = createLogger('info', 'nudge-test', stream);
  withLogContext({ workflowId: 'wf-1', enrollmentId: 'enr-1' }, () => {
    withIds.info({ to: 'ada@example.com' }, 'inside');
    withIds.info('inside again');
  });
  withIds.info('outside');
  expect(lines[0]).toMatchObject({
    service: 'nudge-test',
    workflowId: 'wf-1',
    enrollmentId: 'enr-1',
    to: 'ada@example.com',
    msg: 'inside',
  });
  // One line's own fields never leak into the next.
  expect(lines[1]).toMatchObject({ workflowId: 'wf-1', msg: 'inside again' });
  expect(lines[1]).not.toHaveProperty('to');
  expect(lines[2]).not.toHaveProperty('workflowId');
});

test('the Temporal SDK logs through pino at the same level, its metadata as fields and errors as `err`', () => {
  const { lines, stream } = capture();
  const adapter = temporalLoggerFor(pino({ base: null, level: 'debug' }, stream));
  adapter.warn('Activity failed', { workflowId: 'wf-2', error: new Error('boom') });
  adapter.log('DEBUG', 'polling', { taskQueue: 'nudge' });
  adapter.trace('too fine', {});
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({
    level: 40,
    msg: 'Activity failed',
    workflowId: 'wf-2',
    err: { message: 'boom' },
  });
  expect(lines[1]).toMatchObject({ level: 20, msg: 'polling', taskQueue: 'nudge' });
});
