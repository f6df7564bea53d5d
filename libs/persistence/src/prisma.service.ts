import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { PrismaClient } from './generated/client.js';

/**
 * The Prisma client over the `pg` driver adapter. Injected only into repositories: nothing else
 * in the gateway builds a query.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    super({
      adapter: new PrismaPg({ connectionString: config.databaseUrl, max: config.databasePoolSize, connectionTimeoutMillis: 5_000 }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }

  /** True when Postgres answers a trivial query (for `/readyz`). */
  async isReachable(): Promise<boolean> {
    try {
      await this.$queryRaw`SELECT 1`;
      return true;
    } catch {
      return false;
    }
  }
}
