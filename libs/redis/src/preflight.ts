import type { RedisTopology } from '#libs/config';
import { readPersistenceOf, type RedisPersistence } from './redis-persistence.js';
import { createRedis } from './redis-client.js';

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
 * reads Redis's persistence settings, which decide whether the audit queue survives a Redis
 * restart (on a cluster, of every node). Behind Sentinel, the sentinels are asked for the master
 * first: no sentinel answering, or none knowing the master, is "cannot reach".
 */
export async function checkRedis(topology: RedisTopology): Promise<RedisPersistence> {
  const where = topology.where;
  const client = createRedis(topology, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // ioredis rejects `connect()` with a generic "Connection is closed"; the cause comes as an event.
  const seen: { cause?: Error & { code?: string } } = {};
  client.on('error', (error: Error) => (seen.cause ??= error));
  client.on('node error', (error: Error) => (seen.cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return await readPersistenceOf(client);
  } catch (error) {
    const message = `${seen.cause?.message ?? ''} ${(error as Error).message}`;
    if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message)) {
      throw new RedisUnavailableError(`Redis at ${where} refused the credentials in REDIS_URL`, 'fix the user or password in REDIS_URL');
    }
    const code = seen.cause?.code ?? (error as { code?: string }).code ?? (seen.cause?.message || (error as Error).message);
    throw new RedisUnavailableError(
      `cannot reach Redis at ${where} (${code})`,
      topology.kind === 'cluster'
        ? 'start the cluster or set REDIS_CLUSTER_NODES to reachable nodes'
        : 'start Redis or set REDIS_URL to a reachable server',
    );
  } finally {
    client.disconnect();
  }
}
