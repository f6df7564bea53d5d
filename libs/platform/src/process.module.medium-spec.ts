import { Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type GatewayConfig } from '#libs/config';
import { PrismaService } from '#libs/persistence';
import { mediumDatabase, mediumLogger } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { ProcessModule, sharedStateOf } from './process.module.js';

// Real: the two root modules of one gateway process wired as `bootstrap` wires them (the second
// with the first's shared state), their Prisma client and pg pool on the medium Postgres, a private
// redis-server. Faked: the planes (empty modules: what is under test is the root module).
describe('ProcessModule: the two planes of one process share one Postgres pool', () => {
  let redis: TestRedis;
  let config: GatewayConfig;

  beforeAll(async () => {
    redis = await startTestRedis();
    config = loadConfig(
      { NODE_ENV: 'test', DATABASE_URL: await mediumDatabase(), DATABASE_POOL_SIZE: '3', REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
      '0',
    );
  });

  afterAll(async () => {
    await redis?.destroy();
  });

  @Module({})
  class AgentPlane {}
  @Module({})
  class AdminPlane {}

  const boot = async (plane: typeof AgentPlane, shared?: Parameters<typeof ProcessModule.forRoot>[2]): Promise<TestingModule> => {
    const module = await Test.createTestingModule({ imports: [ProcessModule.forRoot(config, plane, shared)] })
      .setLogger(mediumLogger)
      .compile();
    await module.init();
    return module;
  };

  it('one PrismaService and one pg pool of DATABASE_POOL_SIZE; the pool closes with the last plane, whichever goes first', async () => {
    const agent = await boot(AgentPlane);
    const prisma = agent.get(PrismaService);
    // As bootstrap wires it.
    const admin = await boot(AdminPlane, sharedStateOf(agent));
    expect(admin.get(PrismaService)).toBe(prisma);
    expect(prisma.pool.options.max).toBe(3);

    // Both planes busy at once: never more connections than the one pool holds.
    const held = await Promise.all(Array.from({ length: 3 }, () => prisma.pool.connect()));
    // (A Prisma query runs once it is awaited or `then`-ed.)
    const waiting = admin.get(PrismaService).$queryRaw`SELECT 1 AS one`.then((rows) => rows);
    await new Promise((r) => setTimeout(r, 200));
    expect(prisma.pool.waitingCount).toBeGreaterThanOrEqual(1);
    for (const client of held) client.release();
    expect(await waiting).toEqual([{ one: 1 }]);
    expect(prisma.pool.totalCount).toBeLessThanOrEqual(3);

    // The admin plane stops first (as in bootstrap's shutdown): the agent plane still has its pool.
    await admin.close();
    expect(await prisma.isReachable()).toBe(true);
    await agent.close();
    expect(prisma.pool.ended).toBe(true);
  });
});
