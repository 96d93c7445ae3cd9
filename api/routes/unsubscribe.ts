/**
 * D7: the pages behind an email's unsubscribe link (for people and mail clients, so they are
 * public and not in the API document).
 *
 * - `GET /unsubscribe/{token}` shows a confirmation page and changes nothing: link checkers
 *   and mail scanners open links without asking anyone.
 * - `POST /unsubscribe/{token}` unsubscribes: the page's button, and the one-click request a
 *   mail client sends from the `List-Unsubscribe-Post: List-Unsubscribe=One-Click` header
 *   (RFC 8058; its body is `List-Unsubscribe=One-Click`, whatever the content type).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { TemporalAccess } from '../context.js';
import { resolveUnsubscribeLink, unsubscribeByLink } from '../services/unsubscribe.js';

export function unsubscribeRoutes(deps: {
  orm: MikroORM;
  temporal: TemporalAccess;
  unsubscribeSecret: string;
}): FastifyPluginAsync {
  return async (app) => {
    // One-click bodies are form-encoded (or empty); their content does not matter.
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    const config = { public: true };
    const schema = { hide: true, params: { type: 'object', properties: { token: { type: 'string' } } } };

    app.get<{ Params: { token: string } }>(
      '/unsubscribe/:token',
      { config, schema },
      async (request, reply) => {
        const link = await resolveUnsubscribeLink(
          deps.orm.em.fork(),
          deps.unsubscribeSecret,
          request.params.token,
        );
        if (!link) return invalidLink(reply);
        if (link.contact.suppression === 'unsubscribed') {
          return page(
            reply,
            200,
            'You are unsubscribed',
            `<p>${escape(link.contact.email)} receives no more emails from us.</p>`,
          );
        }
        return page(
          reply,
          200,
          'Unsubscribe?',
          `<p>Stop all emails to <strong>${escape(link.contact.email)}</strong>?</p>
<form method="post"><button type="submit">Unsubscribe</button></form>`,
        );
      },
    );

    app.post<{ Params: { token: string } }>(
      '/unsubscribe/:token',
      { config, schema },
      async (request, reply) => {
        const link = await resolveUnsubscribeLink(
          deps.orm.em.fork(),
          deps.unsubscribeSecret,
          request.params.token,
        );
        if (!link) return invalidLink(reply);
        await unsubscribeByLink({ orm: deps.orm, temporal: deps.temporal, logger: request.log }, link);
        return page(
          reply,
          200,
          'You are unsubscribed',
          `<p>${escape(link.contact.email)} receives no more emails from us.</p>`,
        );
      },
    );
  };
}

function invalidLink(reply: FastifyReply) {
  return page(
    reply,
    400,
    'This link does not work',
    '<p>This unsubscribe link is incomplete or was changed. Use the link from the email itself.</p>',
  );
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escape(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#111}
button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.375rem;background:#111;color:#fff;cursor:pointer}</style>
</head><body><h1>${escape(title)}</h1>
${body}
</body></html>`);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}
