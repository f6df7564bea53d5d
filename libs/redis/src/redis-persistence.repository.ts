import { Injectable } from '@nestjs/common';
import { readPersistenceOf, type RedisPersistence } from './redis-persistence.js';
import { RedisService } from './redis.service.js';

/** Redis's own persistence settings, read over the command connection (on a cluster, of every node). */
@Injectable()
export class RedisPersistenceRepository {
  constructor(private readonly redis: RedisService) {}

  /** The settings now; rejects only when Redis does not answer (a refused `CONFIG` is `unknown`). */
  read(): Promise<RedisPersistence> {
    return readPersistenceOf(this.redis.command);
  }
}
