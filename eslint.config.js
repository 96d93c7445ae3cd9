import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins,
// no ORM or email SDK, no process.env. Lint makes that impossible to get wrong.
const sandboxBannedModules = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  '@mikro-orm/*',
  'resend',
  'pg',
  'fastify',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/histories/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests read JSON responses; typing every one of them adds noise, not safety.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: sandboxBannedModules.filter((m) => !m.includes('*')),
          patterns: [
            { group: ['@mikro-orm/*'], message: 'Workflows may not touch the database; use an activity.' },
            {
              group: ['../activities/*', '../activities'],
              allowTypeImports: true,
              message: 'Workflows may only `import type` activities.',
            },
            {
              group: ['../db/*', '../api/*', '../worker/*', '../email/*', '../config/*'],
              message: 'Not workflow-safe.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflows never read configuration or the process.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or a deterministic source.' },
      ],
    },
  },
);
