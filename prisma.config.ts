import { defineConfig } from 'prisma/config';

// Used by `prisma generate` only. Migrations are applied by the gateway itself on start
// (libs/persistence/src/migrator.ts), so no datasource URL is needed here.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
