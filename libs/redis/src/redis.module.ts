import { Global, Module } from '@nestjs/common';
import { RedisBus } from './redis-bus.js';
import { RedisService } from './redis.service.js';

/** Provides the Redis connections and the node-to-node bus. */
@Global()
@Module({ providers: [RedisService, RedisBus], exports: [RedisService, RedisBus] })
export class RedisModule {}
