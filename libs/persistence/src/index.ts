/** Postgres through Prisma 7 (driver adapter `pg`), and the migrations applied on start. */
export { PersistenceModule, SharedPersistenceModule } from './persistence.module.js';
export { PrismaService } from './prisma.service.js';
export { DatabaseUnavailableError, explainConnectError, findMigrationsDir, loadMigrations, migrateDatabase } from './migrator.js';
export type { Migration, MigrationReport } from './migrator.js';
export { Prisma } from './generated/client.js';
export type { Agent, ApiToken, Tenant } from './generated/client.js';
export { AgentStatus } from './generated/enums.js';
export { prismaErrorCode } from './prisma-errors.js';
export { CertificateBindingKind } from './generated/enums.js';
export type { CertificateBinding, OidcSubject } from './generated/client.js';
