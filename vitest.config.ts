import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node resolves "graphql" to its CommonJS build (the package has no "exports"),
    // Vite to its ESM build. Two copies break `instanceof GraphQLError` between our
    // code and Yoga's, so make the test runner pick the copy Node picks.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // Minutes-long fault tests run with `npm run test:faults`, the deployment tests with `npm run test:cluster`.
    exclude: [...configDefaults.exclude, 'tests/faults/**', 'tests/cluster/**'],
    setupFiles: ['tests/helpers/setup.ts'],
    // Each file starts its own servers and databases; two at a time suits a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
