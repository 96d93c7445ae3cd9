// Jest runs the TypeScript sources as native ES modules (MikroORM 7 ships ESM only),
// transformed by SWC; `npm test` passes --experimental-vm-modules to Node.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The plain closing line is what CI reads to count the tests that ran.
  reporters: ['default', '<rootDir>/test/support/plain-summary-reporter.js'],
  // Tests start real servers on machines whose cores are shared; 5 s is too tight for that.
  testTimeout: 60_000,
};
