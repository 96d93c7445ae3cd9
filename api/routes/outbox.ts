/**
 * The development outbox page: when no RESEND_API_KEY is configured, every email Nudge would
 * have sent is kept in the delivery ledger (provider `outbox`); these pages list them and
 * show each rendered email, so a new user sees a sequence working without a provider.
 *
 * They show contact data, so they are mounted only in outbox mode and answer only to a
 * workspace's API key: a browser asks for it (HTTP Basic, any user name, the key as the
 * password); scripts may send it as a bearer token. Each key sees its own workspace's emails.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Delivery, Enrollment, Sequence } from '../../db/entities/index.js';
import { html, SafeHtml } from '../html.js';
import { workspaceForKey } from '../keys.js';

export interface OutboxPageOptions {
  orm: MikroORM;
  /** The Temporal Web UI and namespace, to link each email to its enrollment's workflow. */
  temporalUi: { url: string; namespace: string } | null;
}

/** The newest emails listed; older ones stay in the ledger (GET /enrollments/:id). */
const LIST_LIMIT = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const outboxRoutes: FastifyPluginAsync<OutboxPageOptions> = async (app, options) => {
  const routeConfig = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/outbox', routeConfig, async (request, reply) => {
    const workspaceId = await authenticate(options.orm, request, reply);
    if (!workspaceId) return reply;
    const em = options.orm.em.fork();
    const deliveries = await em.find(
      Delivery,
      { workspace: workspaceId, provider: 'outbox' },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: LIST_LIMIT },
    );
    const sequences = await sequenceNames(options.orm, deliveries);
    const rows = deliveries.map(
      (delivery) =>
        html`<tr>
          <td class="when">${formatTime(delivery.sentAt ?? delivery.createdAt)}</td>
          <td>${delivery.toEmail}</td>
          <td><a href="/outbox/${delivery.id}">${delivery.subject || '(no subject)'}</a></td>
          <td>${sequences.get(delivery.sequence) ?? delivery.sequence}</td>
          <td><code>${delivery.stepId}</code>${delivery.kind === 'resend' ? ' (resend)' : ''}</td>
          <td><span class="status status-${delivery.status}">${delivery.status}</span></td>
        </tr>`,
    );
    return sendPage(
      reply,
      'Outbox',
      html`<h1>Development outbox</h1>
        <p class="note">
          <code>RESEND_API_KEY</code> is not set, so nothing leaves this machine: each email Nudge would have
          sent is kept here, rendered exactly as it would have gone out. Newest first; this page refreshes
          every 10 seconds.
        </p>
        ${
          deliveries.length === 0
            ? html`<p class="empty">
                No emails yet. Publish a sequence and enroll a contact: its first step appears here.
              </p>`
            : html`<table>
                <thead>
                  <tr>
                    <th>Sent</th>
                    <th>To</th>
                    <th>Subject</th>
                    <th>Sequence</th>
                    <th>Step</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows}
                </tbody>
              </table>`
        }`,
      { refreshSeconds: 10 },
    );
  });

  app.get<{ Params: { deliveryId: string } }>('/outbox/:deliveryId', routeConfig, async (request, reply) => {
    const workspaceId = await authenticate(options.orm, request, reply);
    if (!workspaceId) return reply;
    const em = options.orm.em.fork();
    const { deliveryId } = request.params;
    const delivery = UUID.test(deliveryId)
      ? await em.findOne(Delivery, { id: deliveryId, workspace: workspaceId, provider: 'outbox' })
      : null;
    if (!delivery) {
      return sendPage(reply.code(404), 'Not found', html`<h1>No such email in this outbox</h1>`);
    }
    const [sequence, enrollment] = await Promise.all([
      em.findOne(Sequence, delivery.sequence),
      em.findOne(Enrollment, delivery.enrollment),
    ]);
    const workflowLink =
      options.temporalUi && enrollment
        ? html` ·
            <a
              href="${options.temporalUi.url}/namespaces/${encodeURIComponent(options.temporalUi.namespace)}/workflows/${encodeURIComponent(enrollment.workflowId)}"
              >workflow in the Temporal UI</a
            >`
        : '';
    return sendPage(
      reply,
      delivery.subject ?? 'Email',
      html`<p><a href="/outbox">← Outbox</a></p>
        <h1>${delivery.subject || '(no subject)'}</h1>
        <dl>
          <dt>To</dt>
          <dd>${delivery.toEmail}</dd>
          <dt>Sequence</dt>
          <dd>${sequence?.name ?? delivery.sequence}</dd>
          <dt>Step</dt>
          <dd><code>${delivery.stepId}</code>${delivery.kind === 'resend' ? ' (resend)' : ''}</dd>
          <dt>Status</dt>
          <dd>
            <span class="status status-${delivery.status}">${delivery.status}</span
            >${delivery.error ? ` — ${delivery.error}` : ''}
          </dd>
          <dt>Sent</dt>
          <dd>${formatTime(delivery.sentAt ?? delivery.createdAt)}</dd>
          <dt>Enrollment</dt>
          <dd><code>${delivery.enrollment}</code> (generation ${delivery.generation})${workflowLink}</dd>
          <dt>Idempotency key</dt>
          <dd><code>${delivery.idempotencyKey}</code></dd>
        </dl>
        <h2>HTML</h2>
        <iframe
          class="email"
          title="Rendered email"
          sandbox="allow-popups allow-popups-to-escape-sandbox"
          srcdoc="${`<base target="_blank">${delivery.html ?? ''}`}"
        ></iframe>
        ${
          delivery.text
            ? html`<h2>Plain text</h2>
                <pre class="text">${delivery.text}</pre>`
            : ''
        }`,
    );
  });
};

/** The workspace of the API key sent as the Basic password or a bearer token; else asks for it. */
async function authenticate(
  orm: MikroORM,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<string | null> {
  const header = request.headers.authorization ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  const key = basic
    ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').slice(1).join(':')
    : /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const workspaceId = key ? await workspaceForKey(orm.em.fork(), `Bearer ${key}`) : null;
  if (workspaceId) return workspaceId;
  await sendPage(
    reply.code(401).header('www-authenticate', 'Basic realm="Nudge outbox", charset="UTF-8"'),
    'API key needed',
    html`<h1>API key needed</h1>
      <p>Sign in with any user name and one of your workspace's API keys as the password.</p>`,
  );
  return null;
}

async function sequenceNames(orm: MikroORM, deliveries: Delivery[]): Promise<Map<string, string>> {
  const ids = [...new Set(deliveries.map((delivery) => delivery.sequence))];
  if (ids.length === 0) return new Map();
  const sequences = await orm.em.fork().find(Sequence, { id: { $in: ids } }, { fields: ['id', 'name'] });
  return new Map(sequences.map((sequence) => [sequence.id, sequence.name]));
}

const formatTime = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function sendPage(
  reply: FastifyReply,
  title: string,
  body: SafeHtml,
  options: { refreshSeconds?: number } = {},
): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header(
      'content-security-policy',
      // The email's own markup runs in a sandboxed frame: no scripts, remote images allowed.
      "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; font-src * data:; frame-ancestors 'none'; form-action 'none'",
    )
    .send(
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            ${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}" />` : ''}
            <title>${title} · Nudge</title>
            <style>
              ${STYLE}
            </style>
          </head>
          <body>
            <main>${body}</main>
          </body>
        </html>`.value,
    );
}

// Trusted, constant CSS: inserted as is (escaping would break its quotes).
const STYLE = new SafeHtml(`
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
  main { max-width: 1100px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 24px; margin: 8px 0 12px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  a { color: #0969da; }
  .note { color: #57606a; max-width: 70ch; }
  .empty { padding: 24px; background: #fff; border: 1px dashed #d0d7de; border-radius: 6px; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
  th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid #d8dee4; vertical-align: top; }
  th { background: #f6f8fa; font-weight: 600; font-size: 13px; }
  td.when { white-space: nowrap; color: #57606a; }
  code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: #ddf4ff; }
  .status-failed, .status-bounced, .status-complained { background: #ffebe9; }
  .status-sent, .status-delivered { background: #dafbe1; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; padding: 16px; border: 1px solid #d0d7de; border-radius: 6px; }
  dt { font-weight: 600; }
  dd { margin: 0; }
  iframe.email { width: 100%; height: 480px; border: 1px solid #d0d7de; border-radius: 6px; background: #fff; }
  pre.text { white-space: pre-wrap; background: #fff; padding: 16px; border: 1px solid #d0d7de; border-radius: 6px; }
`);
