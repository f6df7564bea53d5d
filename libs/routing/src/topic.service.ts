import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GatewayError, type PublishAck, type PublishPayload, type TopicAck, type TopicMessageEvent } from '#libs/protocol';
import { Backpressure } from './backpressure.js';
import { ClusterBus } from './cluster.bus.js';
import { NodeRepository } from './node.repository.js';
import type { Caller, Session } from './session.js';
import { TopicRepository } from './topic.repository.js';

const LIVE_NODES_CACHE_MS = 1_000;

/**
 * Topics (contract §3): a topic belongs to a tenant; agents subscribe and publish within their
 * own tenant. Subscribers are kept per node in memory; Redis knows how many each node has, so a
 * publish reaches local subscribers directly and every other node with subscribers through one
 * pub/sub signal (at most once). The publisher does not receive its own message.
 */
@Injectable()
export class TopicService implements OnModuleInit {
  private readonly logger = new Logger('Topics');
  private readonly subscribers = new Map<string, Set<Session>>();
  private readonly topicsOf = new WeakMap<Session, Set<string>>();
  private liveNodes: { at: number; nodes: Set<string> } | null = null;

  constructor(
    private readonly topics: TopicRepository,
    private readonly nodes: NodeRepository,
    private readonly cluster: ClusterBus,
    private readonly audit: AuditTrail,
    private readonly backpressure: Backpressure,
  ) {}

  onModuleInit(): void {
    this.cluster.handleSignals('topic', (signal) => this.deliverHere(signal.tenant_id, signal.topic, signal.event, signal.exclude_agent));
  }

  async subscribe(session: Session, topic: string): Promise<TopicAck> {
    const key = keyOf(session.tenantId, topic);
    const set = this.subscribers.get(key) ?? new Set<Session>();
    if (!set.has(session)) {
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
    let counts: Map<string, number>;
    let live: Set<string>;
    try {
      [counts, live] = await Promise.all([this.topics.counts(caller.tenantId, payload.topic), this.live()]);
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
    for (const [node, count] of counts) {
      if (node === this.cluster.nodeId || count < 1 || !live.has(node)) continue;
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

  private async live(): Promise<Set<string>> {
    const now = Date.now();
    if (this.liveNodes && now - this.liveNodes.at < LIVE_NODES_CACHE_MS) return this.liveNodes.nodes;
    const nodes = new Set((await this.nodes.live()).map((n) => n.node_id));
    this.liveNodes = { at: now, nodes };
    return nodes;
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
