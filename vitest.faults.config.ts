import { defineConfig } from 'vitest/config';

// Fault tests: real server processes against a database that goes away (a
// private MariaDB the test stops and starts) or a process that is killed
// mid-write. Slow by nature and hard on a 2-core machine: one file at a time.
export default defineConfig({
  resolve: {
    // The same "graphql" copy Node picks, as in vitest.config.ts.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/faults/**/*.test.ts'],
    setupFiles: ['tests/helpers/setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
