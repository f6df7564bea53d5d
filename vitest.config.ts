import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

const shared = {
  // Tests run the TypeScript sources; `#libs/<name>` maps to each library's single entry point,
  // as package.json "imports" does for the compiled build.
  resolve: {
    alias: [{ find: /^#libs\/([a-z-]+)$/, replacement: `${root}libs/$1/src/index.ts` }],
  },
  // SWC instead of esbuild: NestJS dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
};

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: { name: 'unit', include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'scripts/**/*.spec.ts'] },
      },
      {
        ...shared,
        // Medium: one real class or module in-process against a real (private) redis-server; each
        // file says which parts are real and which are faked.
        test: { name: 'medium', include: ['apps/**/*.medium-spec.ts', 'libs/**/*.medium-spec.ts'], testTimeout: 30_000, pool: 'forks' },
      },
      {
        ...shared,
        // End-to-end: the compiled production entry point against the real Postgres and Redis.
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
    ],
  },
});
