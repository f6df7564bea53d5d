import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, served on the admin port at `/metrics`. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** Live agent sessions on this node, by transport. */
  readonly sessions = new Gauge({
    name: 'agw_sessions',
    help: 'Live agent sessions on this node',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  /** Messages and results routed by this node. */
  readonly routed = new Counter({
    name: 'agw_routed_total',
    help: 'Messages and results routed',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  /** Client events refused, by error code. */
  readonly refusals = new Counter({
    name: 'agw_refusals_total',
    help: 'Client events refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  /** Refusals given a request id (each has a log line, unless the per-second log budget was spent). */
  readonly refusalLines = new Counter({
    name: 'agw_refusals_noted_total',
    help: 'Refusals given a correlation id (request_id)',
    registers: [this.registry],
  });
  /** Per-session and per-agent limits that refused something, by limit. */
  readonly limitRefusals = new Counter({
    name: 'agw_limit_refusals_total',
    help: 'Requests refused by a per-session or per-agent resource limit, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  /** Connections refused, by error code. */
  readonly connectRefusals = new Counter({
    name: 'agw_connect_refusals_total',
    help: 'Connections refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  /** Sessions closed, by reason. */
  readonly disconnects = new Counter({
    name: 'agw_disconnects_total',
    help: 'Sessions closed by the gateway or the client, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Audit events by action and outcome. */
  readonly auditEvents = new Counter({
    name: 'agw_audit_events_total',
    help: 'Audit events by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });
  /**
   * Audit records dropped because the in-memory buffer was full during a Redis outage, by the cap
   * that was reached: `records` (`AUDIT_BUFFER_MAX`) or `bytes` (`AUDIT_BUFFER_MAX_BYTES`).
   */
  readonly auditDropped = new Counter({
    name: 'agw_audit_dropped_total',
    help: 'Audit records dropped: buffer full while Redis was unreachable, by the cap reached (records, bytes)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /**
   * 1 when the audit queue's Redis survives a restart (AOF with appendfsync everysec or always), 0
   * otherwise; `mode` is what was read (`aof_everysec`, `volatile`, `unknown`…). One series at a time.
   */
  readonly redisDurable = new Gauge({
    name: 'agw_redis_durable',
    help: '1 when Redis keeps the audit queue across a restart (AOF, appendfsync everysec or always); mode: the persistence read',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  /** Audit records written to Postgres by this process's writer. */
  readonly auditWritten = new Counter({
    name: 'agw_audit_written_total',
    help: 'Audit records written to Postgres by this process',
    registers: [this.registry],
  });
  /** From an audit event to its row in Postgres. */
  readonly auditLagSeconds = new Histogram({
    name: 'agw_audit_lag_seconds',
    help: 'Time from an audit event to its row in Postgres',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** 1 while shared rate limits cannot reach Redis. */
  readonly rateLimitDegraded = new Gauge({
    name: 'agw_rate_limit_degraded',
    help: '1 while shared rate limits cannot reach Redis',
    registers: [this.registry],
  });
  /** From receiving a `send` to the recipient's ack. */
  readonly deliverySeconds = new Histogram({
    name: 'agw_delivery_seconds',
    help: 'Time from a send to the recipient client acknowledging the message',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  /** Sends to remote A2A agents (`stage="send"`: `accepted` or the refusal's reason) and their results (`stage="result"`). */
  readonly a2aOutbound = new Counter({
    name: 'agw_a2a_outbound_total',
    help: 'Sends to remote A2A agents (accepted, or refused by reason) and their results (success, failure, dropped)',
    labelNames: ['stage', 'outcome'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'agw_' });
    // Both series from the start, so `agw_audit_dropped_total > 0` alerts have a zero to compare to.
    for (const reason of ['records', 'bytes'] as const) this.auditDropped.labels(reason).inc(0);
  }

  /** The exposition text for `/metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
