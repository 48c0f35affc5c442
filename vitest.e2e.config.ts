import { defineConfig } from 'vitest/config';

// End-to-end tests of the web client: real server processes, headless Chromium.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.ts'],
    globalSetup: ['tests/e2e/globalSetup.ts'],
    // One browser and a few servers at a time suit a 2-core machine.
    fileParallelism: false,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});
