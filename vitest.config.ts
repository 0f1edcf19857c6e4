import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machines: keep worker count small so real servers spawned by tests are not starved.
    maxWorkers: 2,
    pool: 'forks',
  },
});
