import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  // Tests run the TypeScript sources; `#libs/<name>` maps to each library's single entry point,
  // as package.json "imports" does for the compiled build.
  resolve: {
    alias: [{ find: /^#libs\/([a-z-]+)$/, replacement: `${root}libs/$1/src/index.ts` }],
  },
  // SWC instead of esbuild: NestJS dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    pool: 'forks',
  },
});
