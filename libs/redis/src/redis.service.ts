import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { createRedis, isCluster, type RedisClient } from './redis-client.js';

/**
 * The gateway's Redis connections: one for commands (auto-pipelined, so concurrent calls share round
 * trips; on a cluster, one pipeline per master) and one for subscriptions. Injected only into
 * repositories and the bus.
 *
 * Cluster rule for every user (docs/operations.md, "Redis keys"): a Lua script or a MULTI touches
 * the keys of one hash slot only, and several keys are read or written as separate commands (which
 * auto-pipelining batches), never as one MGET or one explicit pipeline across slots.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** Commands. Fails a command after one retry instead of queueing it forever while Redis is down. */
  readonly command: RedisClient;
  /** Pub/sub (a subscribed connection cannot run other commands); on a cluster, one per master for sharded channels. */
  readonly subscriber: RedisClient;
  /** Prefix of every key and channel (`REDIS_KEY_PREFIX`). */
  readonly prefix: string;
  /** True on a Redis Cluster (`REDIS_CLUSTER_NODES`). */
  readonly cluster: boolean;
  private closing = false;
  /** When a connection last dropped, reconnected or saw the cluster's nodes change (a failover). */
  private lastDisruptionAt = 0;
  private readonly subscriberLost: (() => void)[] = [];

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.prefix = config.redis.keyPrefix;
    const topology = config.redis.topology;
    this.command = createRedis(topology, { enableAutoPipelining: true, connectionName: `${config.nodeId}:cmd` });
    this.subscriber = createRedis(topology, {
      connectionName: `${config.nodeId}:sub`,
      shardedSubscribers: topology.kind === 'cluster',
      // ioredis writes SUBSCRIBE as soon as the socket is up, before its ready check; the check's
      // INFO then fails in subscriber mode and drops the connection (seen behind Sentinel with a
      // password). SUBSCRIBE needs no ready check: it works while Redis loads its data set.
      ...(topology.kind !== 'cluster' && { enableReadyCheck: false }),
    });
    this.cluster = isCluster(this.command);
    for (const [name, client] of [
      ['command', this.command],
      ['subscriber', this.subscriber],
    ] as const) {
      let down = false;
      client.on('error', (error: Error) => {
        if (this.closing || down) return;
        down = true;
        this.logger.error(`Redis ${name} connection lost (${topology.where}): ${error.message}; reconnecting`);
      });
      client.on('ready', () => {
        if (down) {
          this.logger.log(`Redis ${name} connection restored`);
          this.lastDisruptionAt = Date.now();
        }
        down = false;
      });
      for (const event of ['error', 'reconnecting', 'node error', '-node']) client.on(event, () => (this.lastDisruptionAt = Date.now()));
    }
    // The subscriber's connection dropped (on a cluster: one of its shard connections): whatever was
    // published to this node meanwhile is lost (pub/sub does not replay).
    for (const event of this.cluster ? ['-node'] : ['close']) {
      this.subscriber.on(event, () => {
        if (this.closing) return;
        this.lastDisruptionAt = Date.now();
        for (const listener of this.subscriberLost) listener();
      });
    }
  }

  /** A key under the configured prefix: `key('presence', 'agent', id)` → `agw:presence:agent:<id>`. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /**
   * The values of `keys`, in order (null where missing): one MGET on one server; on a cluster, a GET
   * per key, which auto-pipelining batches per master (MGET across slots is refused there).
   */
  async getMany(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster) return this.command.mget(keys);
    return Promise.all(keys.map((key) => this.command.get(key)));
  }

  /**
   * True within `windowMs` of a connection of this node dropping, reconnecting, or a cluster node
   * going away: a failover may still be settling (other nodes re-subscribing on the new master).
   */
  recentlyDisrupted(windowMs = 10_000): boolean {
    return this.lastDisruptionAt > 0 && Date.now() - this.lastDisruptionAt < windowMs;
  }

  /** Calls `listener` whenever the subscriber connection drops (a Redis restart or failover). */
  onSubscriberLost(listener: () => void): void {
    this.subscriberLost.push(listener);
  }

  /** True when Redis answers PING (for `/readyz`). */
  async isReachable(): Promise<boolean> {
    try {
      return (await this.command.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.command.quit(), this.subscriber.quit()]);
  }
}
