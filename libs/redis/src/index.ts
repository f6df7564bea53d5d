/** Redis: the connection factory, the node-to-node bus, the start-up check and Redis's persistence settings. */
export { RedisModule } from './redis.module.js';
export { RedisService } from './redis.service.js';
export { SLOTS_REFRESH_INTERVAL_MS, createRedis, isCluster, reconnectDelayMs } from './redis-client.js';
export type { RedisClient } from './redis-client.js';
export { RedisBus } from './redis-bus.js';
export type { ChannelKind } from './redis-bus.js';
export { RedisUnavailableError, checkRedis } from './preflight.js';
export { RedisPersistenceRepository } from './redis-persistence.repository.js';
export type { RedisPersistence } from './redis-persistence.js';
