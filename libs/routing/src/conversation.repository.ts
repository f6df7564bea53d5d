import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { RedisService } from '#libs/redis';

// How often the routes learnt on this node are written to Redis, in one pipeline.
const FLUSH_INTERVAL_MS = 50;
// Routes this node keeps in memory for the results its own agents send (oldest dropped first).
const LOCAL_ROUTES_MAX = 200_000;

interface Route {
  /** The sender, and after a space the node awaiting the result for it when that sender has no session. */
  value: string;
  expiresAt: number;
}

/** Where a conversation's `result` goes: its sender, and the node awaiting it when the sender has no session. */
export interface ConversationOrigin {
  sender: string;
  /** The node holding the waiter of a sessionless sender (A2A, MCP); null for a sender with a session. */
  awaitingNode: string | null;
}

function parseRoute(value: string): ConversationOrigin {
  const space = value.indexOf(' ');
  return space < 0 ? { sender: value, awaitingNode: null } : { sender: value.slice(0, space), awaitingNode: value.slice(space + 1) };
}

/**
 * Who sent the last message of a conversation to an agent, so that the agent's `result` goes back
 * to them. Only messages a result can follow have a route (the routing service decides, and how
 * long it lives): a fire-and-forget `send` leaves nothing in Redis. Written on the recipient's node
 * when the message is delivered: into a local map that its results read first, and, batched every
 * 50 ms into one round trip, into `conv:<recipient>|<conversation>` with the route's TTL, so a result
 * still finds its way after the recipient reconnects to another node. (`|` is in neither alphabet,
 * so the key cannot be ambiguous; nor is the space that separates a sessionless sender from the
 * node awaiting its result.)
 */
@Injectable()
export class ConversationRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('Conversations');
  private readonly local = new Map<string, Route>();
  private pending: { key: string; route: Route }[] = [];
  private readonly flusher: NodeJS.Timeout;
  private failing = false;

  constructor(private readonly redis: RedisService) {
    this.flusher = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.flusher.unref();
  }

  /**
   * Remembers that `sender` sent the last message of `conversationId` to `recipient`, for `ttlMs`;
   * `awaitingNode` when the sender has no session and that node awaits the result for it.
   */
  remember(recipient: string, conversationId: string, sender: string, ttlMs: number, awaitingNode?: string): void {
    const key = `${recipient}|${conversationId}`;
    const route = { value: awaitingNode ? `${sender} ${awaitingNode}` : sender, expiresAt: Date.now() + ttlMs };
    // Re-inserted at the end: the map's order is the eviction order.
    this.local.delete(key);
    this.local.set(key, route);
    if (this.local.size > LOCAL_ROUTES_MAX) this.evictLocal();
    this.pending.push({ key, route });
  }

  async lookup(recipient: string, conversationId: string): Promise<ConversationOrigin | null> {
    const key = `${recipient}|${conversationId}`;
    const cached = this.local.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > Date.now()) return parseRoute(cached.value);
      this.local.delete(key);
    }
    const stored = await this.redis.command.get(this.redis.key('conv', key));
    return stored === null ? null : parseRoute(stored);
  }

  /** Writes the routes learnt since the last flush (also called on shutdown). */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const now = Date.now();
    try {
      // One SET per route, auto-pipelined into one round trip (per master on a cluster).
      const live = batch.filter(({ route }) => route.expiresAt > now);
      await Promise.all(
        live.map(({ key, route }) => this.redis.command.set(this.redis.key('conv', key), route.value, 'PX', route.expiresAt - now)),
      );
      if (this.failing) this.logger.log('conversation routes are persisted again');
      this.failing = false;
    } catch (error) {
      // The local map still routes results on this node; only a reconnect elsewhere loses them.
      if (!this.failing) this.logger.warn(`conversation routes not persisted (Redis down?): ${(error as Error).message}`);
      this.failing = true;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush();
  }

  /** Drops the oldest routes until a tenth of the room is free again (they stay in Redis). */
  private evictLocal(): void {
    const target = LOCAL_ROUTES_MAX * 0.9;
    for (const key of this.local.keys()) {
      if (this.local.size <= target) break;
      this.local.delete(key);
    }
  }
}
