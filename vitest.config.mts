import { availableParallelism } from 'node:os';
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
    // Most files wait on child processes, sockets and timers rather than compute, yet vitest's default (one fewer
    // than the cores) ran them one at a time on the 2-core CI machine: two at a time took npm test from 748 to
    // 451 s and test:postgres from 477 to 285 s. Ports are drawn per worker (servicePort), databases by name.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
  // SWC keeps the decorator metadata Nest and class-validator need (esbuild drops it).
  plugins: [swc.vite({ module: { type: 'es6' } })],
});
