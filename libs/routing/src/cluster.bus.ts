import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import {
  GatewayError,
  type CancelEvent,
  type DisconnectReason,
  type ErrorBody,
  type MessageEvent,
  type ResultEvent,
  type TopicMessageEvent,
  type TraceContext,
} from '#libs/protocol';
import { RedisBus, type ChannelKind } from '#libs/redis';
import { SPANS, SpanKind, tracing } from '#libs/telemetry';

/** Work one node asks another to do for an agent connected there. */
export type ClusterRequest =
  | { op: 'deliver'; tenant_id: string; message: MessageEvent; route_ttl_ms?: number; awaiting_node?: string }
  | { op: 'result'; tenant_id: string; to_agent_id: string; result: ResultEvent }
  /** The result for a sessionless sender whose waiter is on the receiving node. */
  | { op: 'awaited_result'; to_agent_id: string; result: ResultEvent }
  | { op: 'cancel'; tenant_id: string; to_agent_id: string; event: CancelEvent };

/** A one-way instruction to a node (or to every node). */
export type ClusterSignal =
  | { op: 'close_session'; session_id: string; reason: DisconnectReason; message: string }
  /** Whoever awaited this result gave up (a cancel on another node): settle the waiter with it. */
  | { op: 'give_up'; agent_id: string; result: ResultEvent }
  | { op: 'topic'; tenant_id: string; topic: string; event: TopicMessageEvent; exclude_agent: string };

/** The channel, envelope and kind of a signal: shared by {@link ClusterBus} and {@link ClusterSignals}. */
function signalMessage(nodeId: string | null, body: ClusterSignal): [string, Envelope, ChannelKind] {
  return nodeId === null ? ['broadcast', { kind: 'signal', body }, 'fanout'] : [`node:${nodeId}`, { kind: 'signal', body }, 'node'];
}

/**
 * Publish-only access to cluster signals, for a process that does not route and must not listen on
 * a node channel (the admin plane kicking a session on whichever node holds it).
 */
@Injectable()
export class ClusterSignals {
  constructor(private readonly bus: RedisBus) {}

  async signal(nodeId: string | null, body: ClusterSignal): Promise<void> {
    await this.bus.publish(...signalMessage(nodeId, body));
  }
}

type Envelope =
  /** `trace`: the W3C context of the sender's hop span, when traced (the serving node continues it). */
  | { kind: 'request'; rid: string; reply_to: string; body: ClusterRequest; trace?: TraceContext }
  | { kind: 'reply'; rid: string; error?: ErrorBody }
  | { kind: 'signal'; body: ClusterSignal };

interface Pending {
  resolve: () => void;
  reject: (error: GatewayError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Requests between gateway nodes over Redis pub/sub: each node listens on its own channel (sharded
 * pub/sub on a Redis Cluster: one shard carries it), and a request carries the channel to reply on. Requests time out; a node that is gone answers nothing
 * (publish reaches no subscriber) and the caller learns it at once.
 */
@Injectable()
export class ClusterBus implements OnModuleInit {
  private readonly logger = new Logger('ClusterBus');
  private readonly pending = new Map<string, Pending>();
  private requestHandler: ((request: ClusterRequest) => Promise<void>) | null = null;
  private readonly signalHandlers = new Map<ClusterSignal['op'], (signal: ClusterSignal) => void>();
  readonly nodeId: string;

  constructor(
    private readonly bus: RedisBus,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly metrics: MetricsService,
  ) {
    this.nodeId = config.nodeId;
  }

  async onModuleInit(): Promise<void> {
    // A reply published while this node's subscription was down never arrives: fail what waits for
    // one now (the caller may retry) instead of at the delivery time-out.
    this.bus.onMissedMessages(() => {
      for (const rid of [...this.pending.keys()])
        this.settle(rid, { code: 'UNAVAILABLE', message: 'routing between nodes was interrupted (Redis failover); delivery unconfirmed' });
    });
    const onEnvelope = (raw: unknown): void => this.onEnvelope(raw as Envelope);
    await this.bus.subscribe(`node:${this.nodeId}`, onEnvelope, 'node');
    await this.bus.subscribe('broadcast', onEnvelope);
  }

  /** Sets the handler of requests addressed to this node (the routing service). */
  handleRequests(handler: (request: ClusterRequest) => Promise<void>): void {
    this.requestHandler = handler;
  }

  /** Sets the handler of one kind of signal addressed to this node or to all. */
  handleSignals<Op extends ClusterSignal['op']>(op: Op, handler: (signal: Extract<ClusterSignal, { op: Op }>) => void): void {
    this.signalHandlers.set(op, handler as (signal: ClusterSignal) => void);
  }

  /**
   * Asks `nodeId` to do `body`; resolves when it did, rejects with its error or TIMEOUT. Timed
   * (`agw_cluster_hop_seconds`) and, when traced, a client span whose context goes with the request.
   */
  async request(nodeId: string, body: ClusterRequest, timeoutMs: number): Promise<void> {
    const started = performance.now();
    const hop = tracing.enabled
      ? tracing.run(
          SPANS.clusterHop,
          { kind: SpanKind.CLIENT, attributes: { 'agw.cluster.op': body.op, 'agw.cluster.node_id': nodeId, 'messaging.system': 'redis' } },
          () => this.send(nodeId, body, timeoutMs, tracing.current()),
        )
      : this.send(nodeId, body, timeoutMs, undefined);
    try {
      await hop;
    } finally {
      this.metrics.clusterHopSeconds.labels(body.op).observe((performance.now() - started) / 1000);
    }
  }

  private async send(nodeId: string, body: ClusterRequest, timeoutMs: number, trace: TraceContext | undefined): Promise<void> {
    const rid = randomUUID();
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new GatewayError('TIMEOUT', 'the node holding the recipient did not answer in time'));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
    });
    let receivers: number;
    try {
      const envelope: Envelope = trace
        ? { kind: 'request', rid, reply_to: this.nodeId, body, trace }
        : { kind: 'request', rid, reply_to: this.nodeId, body };
      receivers = await this.bus.publish(`node:${nodeId}`, envelope, 'node');
    } catch (error) {
      this.settle(rid, { code: 'UNAVAILABLE', message: 'routing between nodes is unavailable' });
      this.logger.error(`cluster request to ${nodeId} failed: ${(error as Error).message}`);
      return done;
    }
    // Nobody listens on the node's channel: the node is gone, or, just after a Redis failover, it
    // has not re-subscribed on the new master yet (then the caller may retry).
    if (receivers === 0)
      this.settle(
        rid,
        this.bus.settling()
          ? { code: 'UNAVAILABLE', message: "the recipient's node is not reachable while Redis fails over; retry" }
          : { code: 'AGENT_NOT_FOUND', message: 'agent is not connected' },
      );
    return done;
  }

  /** Sends a signal to one node, or to every node when `nodeId` is null. */
  async signal(nodeId: string | null, body: ClusterSignal): Promise<void> {
    await this.bus.publish(...signalMessage(nodeId, body));
  }

  private onEnvelope(envelope: Envelope): void {
    switch (envelope.kind) {
      case 'reply':
        this.settle(envelope.rid, envelope.error);
        return;
      case 'signal':
        this.signalHandlers.get(envelope.body.op)?.(envelope.body);
        return;
      case 'request':
        void (tracing.enabled
          ? tracing.run(
              SPANS.clusterServe,
              {
                kind: SpanKind.SERVER,
                parent: envelope.trace,
                attributes: { 'agw.cluster.op': envelope.body.op, 'agw.cluster.node_id': this.nodeId },
              },
              () => this.serve(envelope),
            )
          : this.serve(envelope));
        return;
    }
  }

  private async serve(envelope: Extract<Envelope, { kind: 'request' }>): Promise<void> {
    let error: ErrorBody | undefined;
    try {
      if (!this.requestHandler) throw new GatewayError('UNAVAILABLE', 'node is starting');
      await this.requestHandler(envelope.body);
    } catch (caught) {
      error =
        caught instanceof GatewayError ? caught.toBody() : { code: 'UNAVAILABLE', message: "delivery failed on the recipient's node" };
      if (!(caught instanceof GatewayError)) this.logger.error(`cluster request failed: ${(caught as Error).message}`);
    }
    const reply: Envelope = error ? { kind: 'reply', rid: envelope.rid, error } : { kind: 'reply', rid: envelope.rid };
    await this.bus
      .publish(`node:${envelope.reply_to}`, reply, 'node')
      .catch((e: Error) => this.logger.warn(`cluster reply lost: ${e.message}`));
  }

  private settle(rid: string, error: ErrorBody | undefined): void {
    const pending = this.pending.get(rid);
    if (!pending) return;
    this.pending.delete(rid);
    clearTimeout(pending.timer);
    if (error) pending.reject(GatewayError.fromBody(error));
    else pending.resolve();
  }
}
