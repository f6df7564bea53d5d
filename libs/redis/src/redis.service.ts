import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';

/**
 * The gateway's Redis connections: one for commands (auto-pipelined, so concurrent calls share round
 * trips) and one for subscriptions. Injected only into repositories and the bus.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** Commands. Fails a command after one retry instead of queueing it forever while Redis is down. */
  readonly command: Redis;
  /** Pub/sub (a subscribed connection cannot run other commands). */
  readonly subscriber: Redis;
  /** Prefix of every key and channel (`REDIS_KEY_PREFIX`). */
  readonly prefix: string;
  private closing = false;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.prefix = config.redis.keyPrefix;
    this.command = createRedis(config.redis.url, { enableAutoPipelining: true, connectionName: `${config.nodeId}:cmd` });
    this.subscriber = createRedis(config.redis.url, { connectionName: `${config.nodeId}:sub` });
    for (const [name, client] of [
      ['command', this.command],
      ['subscriber', this.subscriber],
    ] as const) {
      let down = false;
      client.on('error', (error: Error) => {
        if (this.closing || down) return;
        down = true;
        this.logger.error(`Redis ${name} connection lost: ${error.message}; reconnecting`);
      });
      client.on('ready', () => {
        if (down) this.logger.log(`Redis ${name} connection restored`);
        down = false;
      });
    }
  }

  /** A key under the configured prefix: `key('presence', 'agent', id)` → `agw:presence:agent:<id>`. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
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

/** A Redis client with the gateway's defaults: bounded retries per command, capped reconnect delay. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    ...options,
  });
}
