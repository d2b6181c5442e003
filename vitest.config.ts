import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    restoreMocks: true,
    globalSetup: ['test/e2e/build-once.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
