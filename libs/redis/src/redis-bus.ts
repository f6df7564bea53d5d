import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { RedisService } from './redis.service.js';

type Handler = (message: unknown) => void;

/**
 * Who listens on a channel: `fanout`, any number of nodes (identity events, config changes,
 * broadcasts); `node`, the one node the channel is named after (requests and replies between
 * nodes). On a Redis Cluster a `node` channel is sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7):
 * a message goes to the one shard that owns the channel's slot, not to every node of the cluster
 * as classic pub/sub does. On one server (also behind Sentinel) both are classic pub/sub: there is
 * one shard, so sharding saves nothing, and Redis 6 keeps working.
 */
export type ChannelKind = 'fanout' | 'node';

/**
 * JSON messages over Redis pub/sub, between gateway nodes. Delivery is at most once: a message
 * published while a node is disconnected from Redis is lost for that node, so callers use it for
 * signals that are also recoverable from state (presence, credentials), or that time out.
 * Subscriptions are restored by ioredis after a reconnect or a failover (on a cluster, on the
 * shard's new master once the slots are refreshed).
 */
@Injectable()
export class RedisBus implements OnModuleInit {
  private readonly logger = new Logger('RedisBus');
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly redis: RedisService) {}

  onModuleInit(): void {
    const dispatch = (channel: string, raw: string): void => {
      const handler = this.handlers.get(channel);
      if (!handler) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch {
        this.logger.warn(`dropped an unparseable message on ${channel}`);
        return;
      }
      try {
        handler(message);
      } catch (error) {
        this.logger.error(`handler for ${channel} failed: ${(error as Error).message}`);
      }
    };
    this.redis.subscriber.on('message', dispatch);
    this.redis.subscriber.on('smessage', dispatch);
  }

  /** Listens on `channel` (a name under the key prefix); one handler per channel. */
  async subscribe(channel: string, handler: Handler, kind: ChannelKind = 'fanout'): Promise<void> {
    const full = this.redis.key('bus', channel);
    this.handlers.set(full, handler);
    if (this.sharded(kind)) await this.redis.subscriber.ssubscribe(full);
    else await this.redis.subscriber.subscribe(full);
  }

  /**
   * Publishes `message` as JSON; resolves to the number of subscribers that received it (of a
   * `node` channel on a cluster: those on the shard's master, where the owner subscribes).
   */
  async publish(channel: string, message: unknown, kind: ChannelKind = 'fanout'): Promise<number> {
    const full = this.redis.key('bus', channel);
    const raw = JSON.stringify(message);
    // ioredis types SPUBLISH's reply as unknown; Redis answers an integer.
    return this.sharded(kind) ? Number(await this.redis.command.spublish(full, raw)) : this.redis.command.publish(full, raw);
  }

  /**
   * True while a Redis failover may still be settling for this node (see
   * {@link RedisService.recentlyDisrupted}): a publish that reached nobody may have gone out
   * before the receiver re-subscribed, rather than to a node that is gone.
   */
  settling(): boolean {
    return this.redis.recentlyDisrupted();
  }

  /** Calls `listener` when this node's subscription may have missed messages (its connection dropped). */
  onMissedMessages(listener: () => void): void {
    this.redis.onSubscriberLost(listener);
  }

  private sharded(kind: ChannelKind): boolean {
    return kind === 'node' && this.redis.cluster;
  }
}
