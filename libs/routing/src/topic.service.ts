import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError, limitExceeded, type PublishAck, type PublishPayload, type TopicAck, type TopicMessageEvent } from '#libs/protocol';
import { Backpressure } from './backpressure.js';
import { ClusterBus } from './cluster.bus.js';
import { ClusterMembership } from './cluster-membership.js';
import type { Caller, Session } from './session.js';
import { TOPIC_TTL_MS, TopicRepository } from './topic.repository.js';

// Each node re-writes its topic counts this often: three times per TTL.
const REFRESH_INTERVAL_MS = TOPIC_TTL_MS / 3;

/**
 * Topics (contract §3): a topic belongs to a tenant; agents subscribe and publish within their
 * own tenant. Subscribers are kept per node in memory; Redis knows how many each node has, so a
 * publish reaches local subscribers directly and every other node with subscribers through one
 * pub/sub signal (at most once). The publisher does not receive its own message.
 */
@Injectable()
export class TopicService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Topics');
  private refresher: NodeJS.Timeout | null = null;
  private readonly subscribers = new Map<string, Set<Session>>();
  private readonly topicsOf = new WeakMap<Session, Set<string>>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly topics: TopicRepository,
    private readonly membership: ClusterMembership,
    private readonly cluster: ClusterBus,
    private readonly audit: AuditTrail,
    private readonly backpressure: Backpressure,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.cluster.handleSignals('topic', (signal) => this.deliverHere(signal.tenant_id, signal.topic, signal.event, signal.exclude_agent));
    this.refresher = setInterval(() => void this.refresh(), REFRESH_INTERVAL_MS);
    this.refresher.unref();
  }

  onApplicationShutdown(): void {
    if (this.refresher) clearInterval(this.refresher);
  }

  /** Subscribes the session; past `MAX_TOPICS_PER_SESSION` topics a new one is `LIMIT_EXCEEDED`. */
  async subscribe(session: Session, topic: string): Promise<TopicAck> {
    const key = keyOf(session.tenantId, topic);
    const set = this.subscribers.get(key) ?? new Set<Session>();
    if (!set.has(session)) {
      const limit = this.config.limits.topicsPerSession;
      if ((this.topicsOf.get(session)?.size ?? 0) >= limit) {
        this.metrics.limitRefusals.labels('max_topics_per_session').inc();
        throw limitExceeded(
          'max_topics_per_session',
          `this session is subscribed to ${limit} topics (MAX_TOPICS_PER_SESSION); unsubscribe from one first`,
        );
      }
      set.add(session);
      this.subscribers.set(key, set);
      const mine = this.topicsOf.get(session) ?? new Set<string>();
      mine.add(key);
      this.topicsOf.set(session, mine);
      await this.publishCount(session.tenantId, topic, set.size, () => this.remove(session, key));
    }
    this.audit.record({ ...this.auditBase(session.caller, topic), action: 'topic.subscribe', details: { topic } });
    return { topic, status: 'subscribed' };
  }

  async unsubscribe(session: Session, topic: string): Promise<TopicAck> {
    const key = keyOf(session.tenantId, topic);
    if (this.remove(session, key)) await this.publishCount(session.tenantId, topic, this.subscribers.get(key)?.size ?? 0);
    return { topic, status: 'unsubscribed' };
  }

  /** Drops every subscription of a session that ended. */
  dropSession(session: Session): void {
    for (const key of this.topicsOf.get(session) ?? []) {
      this.remove(session, key);
      const [tenantId, topic] = splitKey(key);
      this.publishCount(tenantId, topic, this.subscribers.get(key)?.size ?? 0).catch((error: Error) =>
        this.logger.warn(`subscriber count of ${topic} not updated: ${error.message}`),
      );
    }
    this.topicsOf.delete(session);
  }

  /**
   * Publishes to every subscriber of the topic in the caller's tenant. Reads which nodes have
   * subscribers first: if Redis cannot say, nothing is delivered and the publisher gets
   * `UNAVAILABLE` (a partial fan-out would be worse than a clear retry).
   */
  async publish(caller: Caller, payload: PublishPayload): Promise<PublishAck> {
    const others: [string, number][] = [];
    try {
      for (const [node, count] of await this.topics.counts(caller.tenantId, payload.topic)) {
        if (node === this.cluster.nodeId || count < 1) continue;
        if (await this.membership.isLive(node)) others.push([node, count]);
        // A dead node's count: the topic's owner gone, the field goes too.
        else this.topics.setCount(caller.tenantId, payload.topic, node, 0).catch(() => undefined);
      }
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'topic fan-out unavailable; retry later', { cause: error });
    }
    const event: TopicMessageEvent = {
      topic: payload.topic,
      message_id: randomUUID(),
      from_agent_id: caller.agentId,
      content: payload.content,
      metadata: payload.metadata ?? {},
      timestamp: new Date().toISOString(),
    };
    let recipients = this.deliverHere(caller.tenantId, payload.topic, event, caller.agentId);
    for (const [node, count] of others) {
      recipients += count;
      this.cluster
        .signal(node, { op: 'topic', tenant_id: caller.tenantId, topic: payload.topic, event, exclude_agent: caller.agentId })
        .catch((error: Error) => this.logger.warn(`topic message to ${node} lost: ${error.message}`));
    }
    this.audit.record({
      ...this.auditBase(caller, payload.topic),
      action: 'topic.publish',
      details: { topic: payload.topic, message_id: event.message_id, recipients },
      content: payload.content,
    });
    return { message_id: event.message_id, recipients };
  }

  /** Re-writes this node's counts, so the hashes of topics it serves keep living (their TTL). */
  private async refresh(): Promise<void> {
    const counts = [...this.subscribers].map(([key, set]) => {
      const [tenantId, topic] = splitKey(key);
      return { tenantId, topic, count: set.size };
    });
    try {
      for (let i = 0; i < counts.length; i += 1000) await this.topics.refresh(counts.slice(i, i + 1000), this.cluster.nodeId);
    } catch (error) {
      this.logger.warn(`topic counts not refreshed (Redis down?): ${(error as Error).message}`);
    }
  }

  /** Removes this node from its topics' counts (on shutdown). */
  async drain(): Promise<void> {
    const topics = [...this.subscribers.keys()].map((key) => {
      const [tenantId, topic] = splitKey(key);
      return { tenantId, topic };
    });
    await this.topics.removeNode(topics, this.cluster.nodeId);
  }

  private deliverHere(tenantId: string, topic: string, event: TopicMessageEvent, excludeAgent: string): number {
    let delivered = 0;
    for (const session of this.subscribers.get(keyOf(tenantId, topic)) ?? []) {
      if (session.closed || session.agentId === excludeAgent || !this.backpressure.admits(session)) continue;
      session.connection.deliverTopicMessage(event);
      delivered++;
    }
    return delivered;
  }

  private remove(session: Session, key: string): boolean {
    const set = this.subscribers.get(key);
    if (!set?.delete(session)) return false;
    if (set.size === 0) this.subscribers.delete(key);
    this.topicsOf.get(session)?.delete(key);
    return true;
  }

  private async publishCount(tenantId: string, topic: string, count: number, undo?: () => void): Promise<void> {
    try {
      await this.topics.setCount(tenantId, topic, this.cluster.nodeId, count);
    } catch (error) {
      undo?.();
      throw new GatewayError('UNAVAILABLE', 'topic registry unavailable; retry later', { cause: error });
    }
  }

  private auditBase(caller: Caller, topic: string) {
    return {
      tenant_id: caller.tenantId,
      actor: { type: 'agent' as const, id: caller.agentId },
      subject: topic,
      outcome: 'allowed' as const,
      reason: null,
      session_id: caller.session?.id ?? null,
      remote_addr: caller.remoteAddress,
    };
  }
}

// `|` appears in neither tenant ids nor topic names.
function keyOf(tenantId: string, topic: string): string {
  return `${tenantId}|${topic}`;
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
}
