/**
 * `/healthz`: the process is up. `/readyz`: it can do its job, i.e. PostgreSQL and Temporal
 * answer; while shutting down it says no, so load balancers stop sending new requests.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Type } from 'typebox';
import type { TemporalAccess } from '../context.js';
import { PROBLEM_CONTENT_TYPE, problemType } from '../errors.js';

const CHECK_TIMEOUT_MS = 2_000;

const Check = Type.Union([Type.Literal('ok'), Type.Literal('failing')]);
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Object({ postgres: Check, temporal: Check }),
});

const NotReady = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Literal(503),
    detail: Type.String(),
    checks: Type.Object({ postgres: Check, temporal: Check }),
  },
  { description: 'Problem details naming the failing checks' },
);

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: { orm: MikroORM; temporal: TemporalAccess; isClosing: () => boolean }) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    const config = { public: true, rateLimit: false } as const;

    app.get(
      '/healthz',
      {
        config,
        schema: {
          tags: ['health'],
          summary: 'Liveness: the API process is up',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config,
        schema: {
          tags: ['health'],
          summary: 'Readiness: PostgreSQL and Temporal are reachable',
          response: {
            200: Readiness,
            503: {
              description: 'Not ready: a dependency is unreachable, or the process is shutting down.',
              content: { [PROBLEM_CONTENT_TYPE]: { schema: NotReady } },
            },
          },
        },
      },
      async (request, reply) => {
        const [postgres, temporal] = await Promise.all([
          within(CHECK_TIMEOUT_MS, deps.orm.em.getConnection().execute('select 1')).then(
            () => 'ok' as const,
            (err) => (request.log.warn({ err }, 'readiness: PostgreSQL failing'), 'failing' as const),
          ),
          within(CHECK_TIMEOUT_MS, deps.temporal.client.workflowService.getSystemInfo({})).then(
            () => 'ok' as const,
            (err) => (request.log.warn({ err }, 'readiness: Temporal failing'), 'failing' as const),
          ),
        ]);
        const ready = postgres === 'ok' && temporal === 'ok' && !deps.isClosing();
        if (ready) return { status: 'ready' as const, checks: { postgres, temporal } };
        return reply
          .code(503)
          .header('retry-after', '5')
          .type(PROBLEM_CONTENT_TYPE)
          .send({
            type: problemType('not-ready'),
            title: 'Not ready',
            status: 503,
            detail: deps.isClosing() ? 'The API is shutting down.' : 'A dependency is unreachable.',
            checks: { postgres, temporal },
          });
      },
    );
  };
  return plugin;
}
