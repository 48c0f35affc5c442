import { defineConfig } from 'vitest/config';

// The deployment tests (npm run test:cluster): HAProxy, three compiled
// instances, MariaDB and a private Redis, or a Redis Cluster, all started by
// the tests themselves. One file at a time: each loads the whole machine.
export default defineConfig({
  resolve: {
    // The same "graphql" copy Node picks, as in vitest.config.ts.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/cluster/**/*.test.ts'],
    globalSetup: ['tests/cluster/globalSetup.ts'],
    setupFiles: ['tests/helpers/setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
