import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** The recommended persistence for every node of a topology: AOF, fsync every second. */
export const AOF_EVERYSEC = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];

/** One redis-server (or sentinel) process of a topology, on a fixed port. */
export interface RedisNode {
  port: number;
  /** SIGKILLs it (no shutdown, no last fsync: a crash). */
  kill(): Promise<void>;
  /** Starts it again with the same arguments and directory (its AOF and nodes.conf). */
  start(): Promise<void>;
  running(): boolean;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Waits until `port` answers PING (a sentinel too), or refuses it for want of a password: it is up. */
async function waitPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const once = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(String(data)));
      });
      socket.once('error', () => resolve(false));
    });
  while (!(await once())) {
    if (Date.now() > deadline) throw new Error(`redis on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function node(port: number, dir: string, args: string[]): RedisNode {
  let child: ChildProcess | null = null;
  const running = (): boolean => child !== null && child.exitCode === null && child.signalCode === null;
  return {
    port,
    running,
    async start() {
      if (running()) return;
      if (!(await portFree(port))) throw new Error(`port ${port} is taken: a test topology from an earlier run may still be up`);
      child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
      await waitPing(port);
    },
    async kill() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await new Promise((resolve) => proc.once('exit', resolve));
    },
  };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>, password?: string): Promise<T> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...(password && { password }),
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** A private Redis Cluster: `masters` masters with one replica each, on consecutive ports. */
export interface TestRedisCluster {
  /** `REDIS_CLUSTER_NODES` for a gateway: the masters' host:port. */
  seeds: string;
  nodes: RedisNode[];
  /** The node that is master of `key`'s slot now. */
  masterOf(key: string): Promise<RedisNode>;
  /** Waits until every slot is served again (cluster_state:ok on every running node). */
  healthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts `2 × masters` redis-servers with `--cluster-enabled yes` (ports `basePort`…, cluster bus
 * ports `basePort + 50`…) and joins them with `redis-cli --cluster create … --cluster-replicas 1`.
 * `nodeTimeoutMs` is `cluster-node-timeout`: how long a master may be silent before its replica
 * takes over.
 */
export async function startRedisCluster(options: {
  basePort: number;
  masters?: number;
  nodeTimeoutMs?: number;
  persistence?: string[];
}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'agw-cluster-'));
  const nodes: RedisNode[] = [];
  for (let i = 0; i < masters * 2; i++) {
    const port = options.basePort + i;
    const nodeDir = join(dir, String(port));
    rmSync(nodeDir, { recursive: true, force: true });
    mkdirSync(nodeDir);
    nodes.push(
      node(port, nodeDir, [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        nodeDir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-port',
        String(options.basePort + 50 + i),
        '--cluster-node-timeout',
        String(options.nodeTimeoutMs ?? 1_000),
        // The other shards keep serving while one fails over (the default stops the whole cluster).
        '--cluster-require-full-coverage',
        'no',
        '--cluster-allow-pubsubshard-when-down',
        'yes',
        ...(options.persistence ?? AOF_EVERYSEC),
      ]),
    );
  }
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
  } catch (error) {
    await destroy();
    throw error;
  }
  const healthy = (timeoutMs = 20_000): Promise<void> =>
    waitUntil(
      'cluster_state:ok on every node',
      async () => {
        for (const n of nodes.filter((x) => x.running())) {
          const info = await ask(n.port, (r) => r.cluster('INFO'));
          if (!String(info).includes('cluster_state:ok')) return false;
        }
        return true;
      },
      timeoutMs,
    );
  await healthy();
  // Replicas in sync, so a failover has something to promote.
  await waitUntil('every replica in sync', async () => {
    for (const n of nodes) {
      const info = await ask(n.port, (r) => r.info('replication'));
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
    }
    return true;
  });
  return {
    seeds: nodes
      .slice(0, masters)
      .map((n) => `127.0.0.1:${n.port}`)
      .join(','),
    nodes,
    healthy,
    async masterOf(key: string) {
      const running = nodes.find((n) => n.running());
      if (!running) throw new Error('no cluster node is running');
      const slot = await ask(running.port, (r) => r.cluster('KEYSLOT', key));
      const slots = await ask(running.port, (r) => r.cluster('SLOTS'));
      const range = slots.find(([from, to]) => Number(slot) >= from && Number(slot) <= to);
      const port = range?.[2]?.[1];
      const found = nodes.find((n) => n.port === port);
      if (!found) throw new Error(`no master for ${key}`);
      return found;
    },
    destroy,
  };
}

/** A private Sentinel group: one master, one replica, three sentinels. */
export interface TestRedisSentinel {
  /** `REDIS_URL` for a gateway. */
  url: string;
  masterName: string;
  master: RedisNode;
  replica: RedisNode;
  sentinels: RedisNode[];
  /** The port the sentinels name as master now. */
  currentMasterPort(): Promise<number>;
  destroy(): Promise<void>;
}

/**
 * Starts a master on `basePort`, its replica on `basePort + 1` and three sentinels on
 * `basePort + 2…4` (quorum 2), each `redis-server <conf> --sentinel` with the installed binary.
 * `downAfterMs` is `down-after-milliseconds`: how long the master may be silent before the
 * sentinels agree it is down and promote the replica.
 */
export async function startRedisSentinel(options: {
  basePort: number;
  downAfterMs?: number;
  persistence?: string[];
  password?: string;
}): Promise<TestRedisSentinel> {
  const masterName = 'agw-master';
  const dir = mkdtempSync(join(tmpdir(), 'agw-sentinel-'));
  const [mp, rp] = [options.basePort, options.basePort + 1];
  const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
  const data = (port: number, extra: string[]): RedisNode => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    return node(port, nodeDir, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      nodeDir,
      ...(options.persistence ?? AOF_EVERYSEC),
      ...auth,
      ...extra,
    ]);
  };
  const master = data(mp, []);
  const replica = data(rp, ['--replicaof', '127.0.0.1', String(mp)]);
  const sentinels = [2, 3, 4].map((i) => {
    const port = options.basePort + i;
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const conf = join(nodeDir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${nodeDir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${mp} 2`,
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1_000}`,
        `sentinel failover-timeout ${masterName} 10000`,
        `sentinel parallel-syncs ${masterName} 1`,
        ...(options.password ? [`sentinel auth-pass ${masterName} ${options.password}`] : []),
        '',
      ].join('\n'),
    );
    return node(port, nodeDir, [conf, '--sentinel']);
  });
  const destroy = async (): Promise<void> => {
    await Promise.all([master, replica, ...sentinels].map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  const currentMasterPort = async (): Promise<number> => {
    for (const s of sentinels.filter((x) => x.running())) {
      try {
        const [, port] = (await ask(s.port, (r) => r.call('SENTINEL', 'get-master-addr-by-name', masterName))) as [string, string];
        return Number(port);
      } catch {
        // the next sentinel
      }
    }
    throw new Error('no sentinel answered');
  };
  try {
    await master.start();
    await replica.start();
    const pw = options.password;
    await waitUntil('the replica in sync', async () => (await ask(rp, (r) => r.info('replication'), pw)).includes('master_link_status:up'));
    await Promise.all(sentinels.map((s) => s.start()));
    // Every sentinel sees the replica and the two others, so a failover can be agreed at once.
    await waitUntil('the sentinels to know each other and the replica', async () => {
      for (const s of sentinels) {
        const info = (await ask(s.port, (r) => r.call('SENTINEL', 'master', masterName))) as string[];
        const field = (name: string): number => Number(info[info.indexOf(name) + 1]);
        if (field('num-other-sentinels') < 2 || field('num-slaves') < 1) return false;
      }
      return true;
    });
  } catch (error) {
    await destroy();
    throw error;
  }
  const userinfo = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `redis+sentinel://${userinfo}${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`,
    masterName,
    master,
    replica,
    sentinels,
    currentMasterPort,
    destroy,
  };
}
