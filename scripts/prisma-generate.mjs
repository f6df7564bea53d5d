// Generates the Prisma client into libs/persistence/src/generated.
//
// `prisma generate` needs only the WebAssembly schema tooling shipped inside the npm package, but
// the CLI insists on downloading its native schema engine first, from a host outside the npm
// registry. Pointing PRISMA_SCHEMA_ENGINE_BINARY at an existing file satisfies that check; the
// engine is never run by `generate`. Migrations do not use the CLI (see libs/persistence).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(result.status ?? 1);
