import { defineConfig } from 'vitest/config';

// Property-test effort comes from FC_NUM_RUNS (test/setup.ts) so CI stays bounded on 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'emulator/**/*.test.ts', 'kernel/**/*.test.ts', 'userland/**/*.test.ts', 'firmware/**/*.test.ts', 'studies/**/*.test.ts'],
    exclude: ['test/peer/**', 'node_modules/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
