import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './support/agents.js';
import { ADMIN_MAIN, AUDIT_WORKER_MAIN, runGatewayToExit, startGateway, type GatewayProcess } from './support/gateway-process.js';
import { AOF_EVERYSEC_REDIS, VOLATILE_REDIS, startTestRedis, type TestRedis } from './support/redis-server.js';

const NO_STACK = /^\s+at /m;
// Nothing else that NODE_ENV=production requires is set by the test environment (AUTH_METHODS is `token`).
const PRODUCTION = { NODE_ENV: 'production' };

// The compiled entry points (gateway, apps/admin, apps/audit-worker) against private redis-servers:
// one without persistence, one with AOF everysec, one with AOF whose CONFIG command is disabled.
describe('Redis persistence of the audit queue, checked at start', () => {
  let volatile: TestRedis;
  let aof: TestRedis;
  let noConfig: TestRedis;
  const running: GatewayProcess[] = [];

  beforeAll(async () => {
    [volatile, aof, noConfig] = await Promise.all([
      startTestRedis(VOLATILE_REDIS),
      startTestRedis(AOF_EVERYSEC_REDIS),
      startTestRedis([...AOF_EVERYSEC_REDIS, '--rename-command', 'CONFIG', '']),
    ]);
  });

  afterAll(async () => {
    await Promise.all(running.map((gateway) => gateway.stop()));
    await Promise.all([volatile, aof, noConfig].map((redis) => redis?.destroy()));
  });

  async function start(env: Record<string, string>, main?: string): Promise<GatewayProcess> {
    const gateway = await startGateway(env, main);
    running.push(gateway);
    return gateway;
  }

  const linesWith = (gateway: GatewayProcess, text: string): string[] => gateway.output.filter((line) => line.includes(text));

  async function reported(gateway: GatewayProcess): Promise<{ agent: unknown; admin: unknown; metrics: string }> {
    const [agent, admin, metrics] = await Promise.all([
      http('GET', `${gateway.url}/readyz`),
      http('GET', `${gateway.adminUrl}/readyz`),
      fetch(`${gateway.adminUrl}/metrics`).then((r) => r.text()),
    ]);
    return { agent, admin, metrics };
  }

  const ready = (mode: string) => ({
    status: 200,
    body: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', accepting: 'ok', redis_persistence: mode } },
  });

  it('production refuses a Redis without AOF: one line naming the setting and the fix, exit code 1, no stack trace', async () => {
    const { code, stderr, stdout } = await runGatewayToExit({ ...PRODUCTION, REDIS_URL: volatile.url });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^agent-gateway: Redis at 127\\.0\\.0\\.1:${volatile.port} would lose queued audit records on a restart \\(appendonly no, save ""\\) \\(NODE_ENV=production\\): ` +
            'set appendonly yes and appendfsync everysec on Redis .*, or set AUDIT_ALLOW_VOLATILE_REDIS=true to accept losing queued audit records$',
        ),
      ),
    ]);
    expect(stderr + stdout).not.toMatch(NO_STACK);
  });

  it('apps/admin (a producer of audit records) refuses it too, or starts with the acknowledgement; the audit worker (the consumer) starts and warns', async () => {
    const admin = await runGatewayToExit({ ...PRODUCTION, REDIS_URL: volatile.url }, 20_000, ADMIN_MAIN);
    expect(admin.code).toBe(1);
    expect(admin.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^agent-gateway: Redis at .* would lose queued audit records on a restart/),
    ]);

    const acknowledged = await start({ ...PRODUCTION, REDIS_URL: volatile.url, AUDIT_ALLOW_VOLATILE_REDIS: 'true' }, ADMIN_MAIN);
    expect(await http('GET', `${acknowledged.adminUrl}/readyz`)).toMatchObject(ready('volatile'));
    expect(linesWith(acknowledged, 'AUDIT RECORDS AT RISK')).toHaveLength(1);

    const worker = await start({ ...PRODUCTION, REDIS_URL: volatile.url }, AUDIT_WORKER_MAIN);
    expect(linesWith(worker, 'AUDIT RECORDS AT RISK')).toEqual([
      expect.stringContaining('NODE_ENV=production: gateways refuse to start on it unless AUDIT_ALLOW_VOLATILE_REDIS=true'),
    ]);
  });

  it('production starts on it with AUDIT_ALLOW_VOLATILE_REDIS=true, warns once, and reports volatile in /readyz and /metrics', async () => {
    const gateway = await start({ ...PRODUCTION, REDIS_URL: volatile.url, AUDIT_ALLOW_VOLATILE_REDIS: 'true' });
    const { agent, admin, metrics } = await reported(gateway);
    expect(agent).toMatchObject(ready('volatile'));
    expect(admin).toMatchObject(ready('volatile'));
    expect(metrics).toContain('agw_redis_durable{mode="volatile"} 0');
    expect(linesWith(gateway, 'AUDIT RECORDS AT RISK')).toEqual([expect.stringContaining('accepted by AUDIT_ALLOW_VOLATILE_REDIS=true')]);
  });

  it('production starts on AOF everysec and reports it durable, without a warning', async () => {
    const gateway = await start({ ...PRODUCTION, REDIS_URL: aof.url });
    const { agent, admin, metrics } = await reported(gateway);
    expect(agent).toMatchObject(ready('aof_everysec'));
    expect(admin).toMatchObject(ready('aof_everysec'));
    expect(metrics).toContain('agw_redis_durable{mode="aof_everysec"} 1');
    expect(metrics).not.toContain('agw_redis_durable{mode="volatile"}');
    expect(linesWith(gateway, 'AUDIT RECORDS AT RISK')).toEqual([]);
    expect(linesWith(gateway, 'Redis persistence aof_everysec (appendonly yes, appendfsync everysec)')).toHaveLength(1);
  });

  it('outside production a volatile Redis is not refused: the gateway starts and logs the warning once', async () => {
    const gateway = await start({ NODE_ENV: 'development', REDIS_URL: volatile.url });
    expect(linesWith(gateway, 'AUDIT RECORDS AT RISK')).toEqual([
      expect.stringMatching(
        /"level":"warn".*with NODE_ENV=production the gateway refuses to start on it unless AUDIT_ALLOW_VOLATILE_REDIS=true/,
      ),
    ]);
    expect((await reported(gateway)).agent).toMatchObject(ready('volatile'));
  });

  it('with CONFIG disabled it cannot tell: says so once, reports unknown, and production refuses it without the acknowledgement', async () => {
    const gateway = await start({ REDIS_URL: noConfig.url });
    const { agent, metrics } = await reported(gateway);
    expect(agent).toMatchObject(ready('unknown'));
    expect(metrics).toContain('agw_redis_durable{mode="unknown"} 0');
    expect(linesWith(gateway, 'AUDIT QUEUE DURABILITY UNKNOWN')).toEqual([
      expect.stringContaining('INFO persistence: aof_enabled:1, but not the fsync policy'),
    ]);

    const { code, stderr } = await runGatewayToExit({ ...PRODUCTION, REDIS_URL: noConfig.url });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^agent-gateway: cannot tell whether Redis at .* keeps queued audit records across a restart .*AUDIT_ALLOW_VOLATILE_REDIS=true/,
      ),
    ]);
  });
});
