import { describe, expect, it } from 'vitest';
import { loadConfig, scrubConfigSecrets, type ConfigError } from './config.schema.js';
import { redactUrl } from './redact.js';
import { parseSentinelUrl, redisTopology } from './redis-topology.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, '0');
  } catch (e) {
    return (e as ConfigError).problems;
  }
  return [];
}

describe('REDIS_URL and REDIS_CLUSTER_NODES: the Redis topology', () => {
  it('is standalone for redis:// and rediss://, where names host:port only', () => {
    expect(redisTopology('redis://:pw@cache:6380/2', [])).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@cache:6380/2',
      where: 'cache:6380',
    });
    expect(loadConfig({}, '0').redis.topology).toMatchObject({ kind: 'standalone', where: 'localhost:6379' });
  });

  it('parses redis+sentinel:// with several sentinels, default port 26379, credentials and parameters', () => {
    expect(
      parseSentinelUrl('rediss+sentinel://app:p%40ss@s1:26380,s2,[::1]:7000/my-master?sentinelPassword=spw1&sentinelUsername=sen&db=3'),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 7000 },
      ],
      masterName: 'my-master',
      username: 'app',
      password: 'p@ss',
      sentinelUsername: 'sen',
      sentinelPassword: 'spw1',
      db: 3,
      tls: true,
      where: 'sentinels s1:26380,s2:26379,[::1]:7000 (master "my-master")',
    });
    expect(parseSentinelUrl('redis+sentinel://s1/m')).toMatchObject({ tls: false, db: 0, username: undefined, password: undefined });
  });

  it('refuses a Sentinel URL without a master, with an unknown parameter or a bad port, without echoing its passwords', () => {
    const bad = (url: string) => problems({ REDIS_URL: url });
    expect(bad('redis+sentinel://s1:26379')).toEqual([expect.stringContaining('must name the master')]);
    expect(bad('redis+sentinel://s1/m?role=slave')).toEqual([expect.stringContaining('unknown parameter "role"')]);
    expect(bad('redis+sentinel://s1:99999/m')).toEqual([expect.stringContaining('not a port number')]);
    const withSecrets = bad('redis+sentinel://:hunter2pw@s1:99999/m?sentinelPassword=s3ntinelpw').join('\n');
    expect(withSecrets).not.toContain('hunter2pw');
    expect(withSecrets).not.toContain('s3ntinelpw');
    expect(redactUrl('redis+sentinel://u:hunter2pw@a:1,b:2/m?db=1&sentinelPassword=s3ntinelpw')).toBe(
      'redis+sentinel://***@a:1,b:2/m?db=1&sentinelPassword=***',
    );
    expect(
      scrubConfigSecrets('x s3ntinelpw hunter2pw', { REDIS_URL: 'redis+sentinel://u:hunter2pw@a/m?sentinelPassword=s3ntinelpw' }),
    ).toBe('x *** ***');
  });

  it('is a cluster with REDIS_CLUSTER_NODES, taking only the credentials and TLS of REDIS_URL', () => {
    const config = loadConfig({ REDIS_URL: 'rediss://app:pw@ignored:1', REDIS_CLUSTER_NODES: 'r1:7000, r2:7001,r3' }, '0');
    expect(config.redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
        { host: 'r3', port: 6379 },
      ],
      username: 'app',
      password: 'pw',
      tls: true,
      where: 'cluster r1:7000,r2:7001,r3:6379',
    });
  });

  it('refuses a cluster with a Sentinel URL, a database, or a node that is not host:port', () => {
    expect(problems({ REDIS_URL: 'redis+sentinel://s1/m', REDIS_CLUSTER_NODES: 'r1:7000' })).toEqual([
      expect.stringContaining('cannot be combined with a redis+sentinel://'),
    ]);
    expect(problems({ REDIS_URL: 'redis://r1:7000/2', REDIS_CLUSTER_NODES: 'r1:7000' })).toEqual([
      expect.stringContaining('must not select a database'),
    ]);
    expect(problems({ REDIS_CLUSTER_NODES: 'r1:7000,http://x' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES has "http:\/\/x"/)]);
  });
});
