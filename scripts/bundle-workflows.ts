/**
 * Builds the workflow bundle ahead of time (`npm run build` runs it on the compiled code), so
 * a production worker starts without webpack: WORKFLOW_BUNDLE_PATH points the worker at it.
 *   node dist/scripts/bundle-workflows.js [out-file]    (default: dist/workflow-bundle.js)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflows, workflowsPath } from '../worker/worker.js';

const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
const { code } = await bundleWorkflows();
await mkdir(dirname(out), { recursive: true });
await writeFile(out, code);
console.error(`workflow bundle for ${workflowsPath}: ${out} (${(code.length / 1024 / 1024).toFixed(2)} MiB)`);
