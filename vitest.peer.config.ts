import { defineConfig } from 'vitest/config';

// The real-peer suite (Linux TCP through a TAP device in a test-owned namespace): `npm run test:peer`.
export default defineConfig({
  test: {
    include: ['test/peer/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
