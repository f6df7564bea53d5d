import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { exportStats } from '#libs/telemetry';

/** A reading taken when `/metrics` is scraped (queue depth, dependency pings); bounded in time. */
export type MetricsSampler = () => Promise<void>;

// A sampler that has not answered within this long is left out of this scrape (its gauges keep the last value).
const SAMPLE_TIMEOUT_MS = 1_000;
/** Tenants with a series of their own in `agw_tenant_sessions`; later ones are summed as `_other`. */
const MAX_TENANT_SERIES = 100;

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

  /** Node-to-node requests over Redis (deliveries, results, cancels), from publish to the other node's reply. */
  readonly clusterHopSeconds = new Histogram({
    name: 'agw_cluster_hop_seconds',
    help: 'Time of a request to another gateway node over Redis, until its reply, by operation',
    labelNames: ['op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  /**
   * Live sessions by tenant. Cardinality bounded: the first {@link MAX_TENANT_SERIES} tenants seen get
   * their own series, later ones are summed under `tenant="_other"`.
   */
  readonly tenantSessions = new Gauge({
    name: 'agw_tenant_sessions',
    help: 'Live agent sessions on this node by tenant (past the first 100 tenants seen, summed as _other)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  /** Audit batches in the BullMQ queue by state (read when scraped; the same queue for every node). */
  readonly auditQueueJobs = new Gauge({
    name: 'agw_audit_queue_jobs',
    help: 'Audit micro-batches in the durable queue (Redis) by state: waiting, active, delayed (retrying), failed',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  /** Audit records accepted by this node and not yet in Redis (buffered in memory or being added). */
  readonly auditBuffered = new Gauge({
    name: 'agw_audit_buffered_records',
    help: 'Audit records accepted by this process and not yet in the durable queue',
    registers: [this.registry],
  });
  /** 1 when the dependency answered a ping at the last scrape, 0 otherwise. */
  readonly dependencyUp = new Gauge({
    name: 'agw_dependency_up',
    help: 'Whether a dependency (postgres, redis) answered at the last scrape (1) or not (0)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });
  /** Spans handed to the OTLP exporter, by outcome (`exported`, `failed`); stays at zero with tracing off. */
  readonly traceSpans = new Counter({
    name: 'agw_trace_spans_total',
    help: 'Spans sent to the OTLP collector (exported) or lost in a failed export (failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly samplers = new Set<MetricsSampler>();
  private readonly tenantLabels = new Set<string>();
  private readonly reported = { exported: 0, failed: 0 };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'agw_' });
    for (const outcome of ['exported', 'failed'] as const) this.traceSpans.labels(outcome).inc(0);
    // Both series from the start, so `agw_audit_dropped_total > 0` alerts have a zero to compare to.
    for (const reason of ['records', 'bytes'] as const) this.auditDropped.labels(reason).inc(0);
  }

  /** The `tenant` label of a tenant's series: its id while there is room, `_other` past {@link MAX_TENANT_SERIES}. */
  tenantLabel(tenantId: string): string {
    if (this.tenantLabels.has(tenantId)) return tenantId;
    if (this.tenantLabels.size >= MAX_TENANT_SERIES) return '_other';
    this.tenantLabels.add(tenantId);
    return tenantId;
  }

  /** Adds a reading taken at every scrape (the audit queue's depth, dependency pings); returns its removal. */
  sampleOnScrape(sampler: MetricsSampler): () => void {
    this.samplers.add(sampler);
    return () => this.samplers.delete(sampler);
  }

  /** The exposition text for `/metrics`, after this scrape's samplers ran (each bounded to a second). */
  async render(): Promise<string> {
    await Promise.all([...this.samplers].map((sample) => withTimeout(sample())));
    this.traceSpans.labels('exported').inc(exportStats.exported - this.reported.exported);
    this.traceSpans.labels('failed').inc(exportStats.failed - this.reported.failed);
    this.reported.exported = exportStats.exported;
    this.reported.failed = exportStats.failed;
    return this.registry.metrics();
  }
}

function withTimeout(sampling: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SAMPLE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([sampling.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
