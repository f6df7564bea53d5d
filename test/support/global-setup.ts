import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { GATEWAY_MAIN } from './gateway-process.js';
import { TEST_DATABASE_NAME, TEST_PREFIX_ROOT, TEST_REDIS_URL } from './env.js';

/**
 * Before the e2e tests: the build must exist (they run the production entry point), and the test
 * database is dropped so that the first gateway proves "created if missing, migrated on start".
 */
export async function setup(): Promise<void> {
  if (!existsSync(GATEWAY_MAIN)) throw new Error('dist/ is missing: `npm test` builds first; run `npm run build` before `vitest`');
  const client = new pg.Client({ connectionString: 'postgresql://postgres@localhost:5432/postgres' });
  await client.connect();
  // The shared test database and the private ones some suites use (<name>_*).
  const pattern = `${TEST_DATABASE_NAME.replaceAll('_', '\\_')}\\_%`;
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2', [
    TEST_DATABASE_NAME,
    pattern,
  ]);
  for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await client.end();
}

/** After: remove every Redis key the tests wrote. */
export async function teardown(): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_PREFIX_ROOT}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
