import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file in its own process: Nest apps, child processes and ports never leak between files.
    pool: 'forks',
  },
  // SWC keeps the decorator metadata Nest and class-validator need (esbuild drops it).
  plugins: [swc.vite({ module: { type: 'es6' } })],
});
