import { Injectable } from '@nestjs/common';
import { PrismaService } from '#libs/persistence';
import { RedisService } from '#libs/redis';

/** Whether this process reaches Postgres and Redis now (`/readyz`, the console's Overview). */
@Injectable()
export class DependencyHealthRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  async check(): Promise<{ postgres: boolean; redis: boolean }> {
    const [postgres, redis] = await Promise.all([this.prisma.isReachable(), this.redis.isReachable()]);
    return { postgres, redis };
  }
}
