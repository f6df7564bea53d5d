import { randomBytes } from 'node:crypto';

/** The database every e2e test uses; the global setup drops it so the first gateway creates and migrates it. */
export const TEST_DATABASE_URL = 'postgresql://postgres@localhost:5432/agent_gateway_test';
export const TEST_REDIS_URL = 'redis://localhost:6379';
/** Every test's Redis keys start with this, so the global teardown can remove them. */
export const TEST_PREFIX_ROOT = 'agwtest-';

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
