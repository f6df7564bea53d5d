/** Redis: the connection factory, the node-to-node bus, the start-up check and Redis's persistence settings. */
export { RedisModule } from './redis.module.js';
export { RedisService, createRedis } from './redis.service.js';
export { RedisBus } from './redis-bus.js';
export { RedisUnavailableError, checkRedis } from './preflight.js';
export { RedisPersistenceRepository } from './redis-persistence.repository.js';
export type { RedisPersistence } from './redis-persistence.js';
