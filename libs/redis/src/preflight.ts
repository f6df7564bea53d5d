import { hostPortOf } from '#libs/config';
import { readRedisPersistence, type RedisPersistence } from './redis-persistence.js';
import { createRedis } from './redis.service.js';

/** Redis could not be used at start; the message names where, `hint` says what to do. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * Connects once, without retrying, and sends PING: the start-up check for a clear refusal. Then
 * reads Redis's persistence settings, which decide whether the audit queue survives a Redis restart.
 */
export async function checkRedis(url: string): Promise<RedisPersistence> {
  const where = hostPortOf(url, 6379);
  const client = createRedis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  // ioredis rejects `connect()` with a generic "Connection is closed"; the cause comes as an event.
  const seen: { cause?: Error & { code?: string } } = {};
  client.on('error', (error: Error) => (seen.cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return await readRedisPersistence(client);
  } catch (error) {
    const message = seen.cause?.message ?? (error as Error).message;
    if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message)) {
      throw new RedisUnavailableError(`Redis at ${where} refused the credentials in REDIS_URL`, 'fix the user or password in REDIS_URL');
    }
    const code = seen.cause?.code ?? (error as { code?: string }).code ?? message;
    throw new RedisUnavailableError(`cannot reach Redis at ${where} (${code})`, 'start Redis or set REDIS_URL to a reachable server');
  } finally {
    client.disconnect();
  }
}
