import { Logger, type LoggerService } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { MetricsService, ReadinessState } from '#libs/observability';
import { RedisPersistenceRepository, RedisService } from '#libs/redis';
import { AOF_EVERYSEC_REDIS, VOLATILE_REDIS, startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { RedisPersistenceWatch } from './redis-persistence.watch.js';

// Real: RedisPersistenceWatch, RedisPersistenceRepository and RedisService (its connections) against
// private redis-servers whose settings the test changes with CONFIG SET, the metrics and the
// readiness state. Captured: the Nest logger. The 60 s timer is not waited for: the test calls
// check(), which is what the timer calls.
describe('RedisPersistenceWatch', () => {
  const lines: { level: string; message: string }[] = [];
  const capture: LoggerService = Object.fromEntries(
    ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'].map((level) => [
      level,
      (message: unknown, context?: string) => {
        if (context === 'AuditQueue') lines.push({ level, message: String(message) });
      },
    ]),
  ) as unknown as LoggerService;
  Logger.overrideLogger(capture);

  const servers: TestRedis[] = [];
  let redisService: RedisService | null = null;

  beforeEach(() => {
    lines.length = 0;
  });
  afterEach(async () => {
    await redisService?.onApplicationShutdown();
    redisService = null;
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.destroy()));
  });

  async function watchOn(args: string[], env: NodeJS.ProcessEnv = {}) {
    const server = await startTestRedis(args);
    servers.push(server);
    const config = loadConfig({ REDIS_URL: server.url, NODE_ID: 'medium-node', ...env }, '0');
    redisService = new RedisService(config);
    const metrics = new MetricsService();
    const readiness = new ReadinessState();
    const watch = new RedisPersistenceWatch(config, new RedisPersistenceRepository(redisService), metrics, readiness);
    const gauge = async () => (await metrics.redisDurable.get()).values.map((v) => ({ mode: v.labels.mode, value: v.value }));
    return { server, watch, readiness, gauge, port: server.port };
  }

  it('warns once about a volatile Redis, then reports each change made at run time, once', async () => {
    const { server, watch, readiness, gauge, port } = await watchOn(VOLATILE_REDIS);
    await watch.onApplicationBootstrap();
    watch.onApplicationShutdown(); // the timer is not needed: check() is called below
    expect(readiness.redisPersistence).toBe('volatile');
    expect(await gauge()).toEqual([{ mode: 'volatile', value: 0 }]);
    expect(lines).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(
          new RegExp(
            `^AUDIT RECORDS AT RISK: Redis at 127\\.0\\.0\\.1:${port} would lose queued audit records on a restart \\(appendonly no, save ""\\).*set appendonly yes and appendfsync everysec`,
          ),
        ),
      },
    ]);

    await watch.check();
    await watch.check();
    expect(lines).toHaveLength(1);

    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'appendonly', 'yes');
      await watch.check();
      expect(readiness.redisPersistence).toBe('aof_everysec');
      expect(await gauge()).toEqual([{ mode: 'aof_everysec', value: 1 }]);
      expect(lines[1]).toEqual({
        level: 'log',
        message:
          'Redis persistence changed at run time from volatile to aof_everysec: Redis persistence aof_everysec (appendonly yes, appendfsync everysec): queued audit records survive a Redis restart',
      });

      await admin.config('SET', 'appendfsync', 'no');
      await watch.check();
      await watch.check();
      expect(readiness.redisPersistence).toBe('aof_no');
      expect(await gauge()).toEqual([{ mode: 'aof_no', value: 0 }]);
      expect(lines.slice(2)).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(
            /^Redis persistence changed at run time from aof_everysec to aof_no: AUDIT RECORDS AT RISK: .*set appendfsync everysec/,
          ),
        },
      ]);
    } finally {
      admin.disconnect();
    }

    // Redis gone: the last reading stands, and nothing more is said.
    await server.stop();
    expect(await watch.check()).toBeNull();
    expect(readiness.redisPersistence).toBe('aof_no');
    expect(lines).toHaveLength(3);
  });

  it('says once that it cannot tell when CONFIG is disabled, and reports unknown', async () => {
    const { watch, readiness, gauge } = await watchOn([...AOF_EVERYSEC_REDIS, '--rename-command', 'CONFIG', '']);
    await watch.onApplicationBootstrap();
    watch.onApplicationShutdown();
    await watch.check();
    await watch.check();
    expect(readiness.redisPersistence).toBe('unknown');
    expect(await gauge()).toEqual([{ mode: 'unknown', value: 0 }]);
    expect(lines).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(
          /^AUDIT QUEUE DURABILITY UNKNOWN: cannot tell whether Redis at .* keeps queued audit records across a restart \(CONFIG GET refused \(ERR unknown command 'config'.*\); INFO persistence: aof_enabled:1, but not the fsync policy\); reporting redis_persistence=unknown/,
        ),
      },
    ]);
  });

  it('falls back to INFO persistence when CONFIG is disabled: AOF off is still seen as volatile', async () => {
    const { watch, readiness } = await watchOn([...VOLATILE_REDIS, '--rename-command', 'CONFIG', '']);
    await watch.onApplicationBootstrap();
    watch.onApplicationShutdown();
    expect(readiness.redisPersistence).toBe('volatile');
    expect(lines).toEqual([{ level: 'warn', message: expect.stringContaining('INFO persistence: aof_enabled:0') }]);
  });

  it('logs a durable Redis once, at start, without a warning', async () => {
    const { watch, readiness, gauge } = await watchOn(AOF_EVERYSEC_REDIS);
    await watch.onApplicationBootstrap();
    watch.onApplicationShutdown();
    await watch.check();
    expect(readiness.redisPersistence).toBe('aof_everysec');
    expect(await gauge()).toEqual([{ mode: 'aof_everysec', value: 1 }]);
    expect(lines).toEqual([
      { level: 'log', message: expect.stringMatching(/^Redis persistence aof_everysec \(appendonly yes, appendfsync everysec\)/) },
    ]);
  });
});
