/**
 * The Dockerfile, checked without a Docker engine: the Dockerfile language service's
 * validator (dockerfile-utils) finds no problem, and the image is built the way the
 * deployment needs (multi-stage, Node 24 on glibc, prebuilt workflow bundle, non-root).
 * test/deploy/build.test.ts runs the same build commands and the compiled processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { repoRoot } from '../support/processes.js';

const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

test('the Dockerfile has no problem the Dockerfile validator knows of', () => {
  expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
});

test('the image is multi-stage on Node 24 (Debian), builds with npm run build, ships production dependencies only and runs as a non-root user', () => {
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  expect(froms.length).toBeGreaterThanOrEqual(3);
  expect(dockerfile.getARGs()[0]?.getProperty()?.getValue()).toBe('24');
  for (const from of froms) {
    const image = from.getImage() ?? '';
    if (image.startsWith('node:')) expect(image).toBe('node:${NODE_VERSION}-bookworm-slim');
  }
  const runs = dockerfile
    .getInstructions()
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => i.getArgumentsContent());
  expect(runs).toEqual(
    expect.arrayContaining(['npm run build', expect.stringContaining('npm ci --omit=dev')]),
  );

  const finalStage = text.slice(text.lastIndexOf('\nFROM '));
  expect(finalStage).toMatch(/WORKFLOW_BUNDLE_PATH=\/app\/dist\/workflow-bundle\.js/);
  expect(finalStage).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
  expect(finalStage).toMatch(/^USER node$/m);
  // The worker's RSS stays flat as enrollments pass through its cache (bench/RESULTS.md, memory).
  expect(finalStage).toMatch(/^\s+MALLOC_ARENA_MAX=2 \\$/m);
  expect(finalStage).toMatch(/^CMD \["node", "dist\/api\/main\.js"\]$/m);

  // Every folder the build compiles (tsconfig.build.json) is copied into the build stage.
  const buildConfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8'));
  for (const folder of buildConfig.include as string[]) {
    expect(text).toContain(`COPY ${folder.replace(/\/\*\.ts$/, '')} ./${folder.replace(/\/\*\.ts$/, '')}`);
  }
});
