import { Global, Module } from '@nestjs/common';
import { RedisBus } from './redis-bus.js';
import { RedisPersistenceRepository } from './redis-persistence.repository.js';
import { RedisService } from './redis.service.js';

/** Provides the Redis connections, the node-to-node bus and the reading of Redis's persistence settings. */
@Global()
@Module({
  providers: [RedisService, RedisBus, RedisPersistenceRepository],
  exports: [RedisService, RedisBus, RedisPersistenceRepository],
})
export class RedisModule {}
