import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { RedisService } from './redis.service.js';

type Handler = (message: unknown) => void;

/**
 * JSON messages over Redis pub/sub, between gateway nodes. Delivery is at most once: a message
 * published while a node is disconnected from Redis is lost for that node, so callers use it for
 * signals that are also recoverable from state (presence, credentials), or that time out.
 */
@Injectable()
export class RedisBus implements OnModuleInit {
  private readonly logger = new Logger('RedisBus');
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly redis: RedisService) {}

  onModuleInit(): void {
    this.redis.subscriber.on('message', (channel: string, raw: string) => {
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
    });
  }

  /** Listens on `channel` (a name under the key prefix); one handler per channel. */
  async subscribe(channel: string, handler: Handler): Promise<void> {
    const full = this.redis.key('bus', channel);
    this.handlers.set(full, handler);
    await this.redis.subscriber.subscribe(full);
  }

  /** Publishes `message` as JSON; resolves to the number of nodes that received it. */
  async publish(channel: string, message: unknown): Promise<number> {
    return this.redis.command.publish(this.redis.key('bus', channel), JSON.stringify(message));
  }
}
