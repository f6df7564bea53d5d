// Generates the Prisma client into libs/persistence/src/generated.
//
// `prisma generate` needs only the WebAssembly schema tooling shipped inside the npm package, but
// the CLI insists on downloading its native schema engine first, from a host outside the npm
// registry. Pointing PRISMA_SCHEMA_ENGINE_BINARY at an existing file satisfies that check; the
// engine is never run by `generate`. Migrations do not use the CLI (see libs/persistence). After
// generating, one patch: the query compiler is read as a file rather than imported (below).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
if (result.status !== 0) process.exit(result.status ?? 1);

// The generated client imports the query compiler's WebAssembly as a module holding it as one
// base64 string literal: the module stays loaded, so the process keeps that string twice (the
// module's source and the literal, 2.2 MB each) for its whole life after compiling it once. Read
// as a file instead, the text is garbage once compiled (4.3 MB less heap after boot, measured in
// docs/performance.md). The replacement is checked: a Prisma release that generates other code
// fails here, not at run time.
const CLASS_FILE = new URL('../libs/persistence/src/generated/internal/class.ts', import.meta.url);
const IMPORTED = `    const { wasm } = await import("@prisma/client/runtime/query_compiler_small_bg.postgresql.wasm-base64.mjs")
    return await decodeBase64AsWasm(wasm)`;
const READ = `    // Patched by scripts/prisma-generate.mjs: read as text, not imported (the string is not kept).
    const { readFile } = await import('node:fs/promises')
    const { createRequire } = await import('node:module')
    const file = createRequire(import.meta.url).resolve("@prisma/client/runtime/query_compiler_small_bg.postgresql.wasm-base64.mjs")
    const source = await readFile(file, 'utf8')
    return await decodeBase64AsWasm(source.slice(source.indexOf('"') + 1, source.lastIndexOf('"')))`;
const generated = readFileSync(CLASS_FILE, 'utf8');
if (!generated.includes(IMPORTED)) {
  console.error(
    `prisma-generate: ${CLASS_FILE.pathname} no longer imports the query compiler as expected; update the patch in scripts/prisma-generate.mjs`,
  );
  process.exit(1);
}
writeFileSync(CLASS_FILE, generated.replace(IMPORTED, READ));
