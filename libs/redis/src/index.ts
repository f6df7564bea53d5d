/** Redis: the connection factory, the node-to-node bus and the start-up check. */
export { RedisModule } from './redis.module.js';
export { RedisService, createRedis } from './redis.service.js';
export { RedisBus } from './redis-bus.js';
export { RedisUnavailableError, checkRedis } from './preflight.js';
