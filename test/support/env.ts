import { randomBytes } from 'node:crypto';

/**
 * The database every e2e test uses (`AGW_TEST_DB`, default `agent_gateway_test`, so two checkouts
 * can run their suites side by side); the global setup drops it, and the private databases named
 * after it (`<name>_…`), so the first gateway creates and migrates it.
 */
export const TEST_DATABASE_NAME = process.env.AGW_TEST_DB ?? 'agent_gateway_test';
export const TEST_DATABASE_URL = `postgresql://postgres@localhost:5432/${TEST_DATABASE_NAME}`;

/** The URL of a private database of one suite, dropped by the global setup like the shared one. */
export function privateDatabaseUrl(suffix: string): string {
  return `postgresql://postgres@localhost:5432/${TEST_DATABASE_NAME}_${suffix}`;
}
export const TEST_REDIS_URL = 'redis://localhost:6379';
/** Every test's Redis keys start with this, so the global teardown can remove them (`AGW_TEST_DB` makes it its own). */
export const TEST_PREFIX_ROOT = process.env.AGW_TEST_DB ? `agw-${process.env.AGW_TEST_DB}-` : 'agwtest-';

/** A Redis key prefix of its own for one test, so tests running in parallel never see each other. */
export function uniquePrefix(): string {
  return `${TEST_PREFIX_ROOT}${randomBytes(4).toString('hex')}:`;
}

/** A unique id for agents and tenants created by a test. */
export function uniqueId(stem: string): string {
  return `${stem}-${randomBytes(3).toString('hex')}`;
}

/** The break-glass admin token every test gateway gets. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';
