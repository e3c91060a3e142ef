import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Kernels use every core through the native thread pool: run test files one at a time.
    fileParallelism: false,
  },
});
