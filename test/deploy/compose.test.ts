/**
 * docker-compose.yml, checked without a Docker engine: variables are interpolated the way
 * Compose does, the result is validated against the Compose Specification JSON schema (as
 * shipped by the `dclint` package, which also lints it in `npm run lint`), and the file keeps
 * the properties the deployment relies on (scalable workers, Temporal on PostgreSQL, …).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { repoRoot } from '../support/processes.js';

// The Compose Specification's schema (draft-07), as the dclint package ships it.
const schema = JSON.parse(
  readFileSync(join(repoRoot, 'node_modules', 'dclint', 'schemas', 'compose.schema.json'), 'utf8'),
);
const composeText = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` interpolation, recursively. */
function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (_, name, op, fallback) => {
      const set = env[name];
      if (op === ':-') return set ? set : fallback;
      if (op === '-') return set ?? fallback;
      return set ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  }
  return value;
}

function load(text: string, env: Record<string, string> = {}) {
  return interpolate(parse(text, { merge: true }), env) as any;
}

function validate(document: unknown) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names draft-07 by its https address; Ajv knows the meta-schema by its canonical one.
  const check = ajv.compile({ ...schema, $schema: 'http://json-schema.org/draft-07/schema#' });
  const valid = check(document);
  return { valid, errors: ajv.errorsText(check.errors, { separator: '\n' }) };
}

test('docker-compose.yml is valid under the Compose Specification schema, with defaults and with every variable set', () => {
  const variableSets: Record<string, string>[] = [
    {},
    {
      NUDGE_WORKER_REPLICAS: '6',
      RESEND_API_KEY: 're_live',
      METRICS_TOKEN: 'a-long-metrics-token',
      TEMPORAL_VERSION: '1.29.1',
    },
  ];
  for (const env of variableSets) {
    const result = validate(load(composeText, env));
    expect(result.errors).toBe('No errors');
    expect(result.valid).toBe(true);
  }
});

test('the validator rejects what Compose rejects: an unknown service key and a malformed port list', () => {
  const misspelt = load(composeText);
  misspelt.services.worker.enviroment = { LOG_LEVEL: 'debug' };
  expect(validate(misspelt).valid).toBe(false);
  const badPorts = load(composeText);
  badPorts.services.api.ports = { web: 3000 };
  expect(validate(badPorts).valid).toBe(false);
});

test('the deployment has PostgreSQL, Temporal on PostgreSQL, the Temporal UI, the API and scalable workers', () => {
  const compose = load(composeText);
  expect(Object.keys(compose.services).sort()).toEqual(
    ['api', 'postgresql', 'prometheus', 'temporal', 'temporal-ui', 'worker'].sort(),
  );
  const { api, worker, temporal } = compose.services;
  expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  expect(compose.services['temporal-ui'].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');

  // Scaling: several worker replicas by default, and nothing that ties a worker to one container.
  expect(Number(worker.deploy.replicas)).toBeGreaterThan(1);
  expect(Number(load(composeText, { NUDGE_WORKER_REPLICAS: '8' }).services.worker.deploy.replicas)).toBe(8);
  expect(worker.ports).toBeUndefined();
  expect(worker.container_name).toBeUndefined();

  for (const service of [api, worker]) {
    expect(service.build).toBe('.');
    expect(service.environment).toMatchObject({
      DATABASE_URL: 'postgres://nudge:nudge@postgresql:5432/nudge',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(service.depends_on.postgresql.condition).toBe('service_healthy');
    expect(service.healthcheck.test.join(' ')).toContain('/healthz');
  }
  expect(api.command).toEqual(['node', 'dist/api/main.js']);
  expect(worker.command).toEqual(['node', 'dist/worker/main.js']);
  expect(worker.environment.METRICS_HOST).toBe('0.0.0.0');

  // Published ports stay on loopback: Temporal's frontend and UI have no authentication.
  for (const service of Object.values<any>(compose.services)) {
    for (const port of service.ports ?? []) expect(String(port)).toMatch(/^127\.0\.0\.1:/);
  }
  // Prometheus finds every worker replica through the service's DNS name.
  expect(compose.configs['prometheus-config'].content).toMatch(/dns_sd_configs:\s+- names: \["worker"\]/);
});
