import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { PrismaClient } from './generated/client.js';

/**
 * The Prisma client over the `pg` driver adapter. Injected only into repositories: nothing else
 * in the gateway builds a query.
 *
 * The adapter runs on a pool this service owns, and `pool` is open to repositories for the one
 * bulk path where Prisma's per-query processing is the cost (the audit writer's batch
 * transaction): one set of connections, one `DATABASE_POOL_SIZE`. The two applications of a gateway
 * process (agent and admin plane) share one instance (`SharedPersistenceModule`): each one that
 * holds it counts, and the pool closes when the last one shuts down.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  readonly pool: pg.Pool;
  private holders = 1;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.databasePoolSize, connectionTimeoutMillis: 5_000 });
    // An idle connection that dies (Postgres restarted) must not crash the process: pg emits it here.
    pool.on('error', () => undefined);
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  /** One more application uses this client (and its pool); each one's shutdown releases it. */
  retain(): this {
    this.holders++;
    return this;
  }

  async onApplicationShutdown(): Promise<void> {
    if (--this.holders > 0) return;
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
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
