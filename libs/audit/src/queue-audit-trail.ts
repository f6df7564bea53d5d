import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { createRedis, isCluster, type RedisClient } from '#libs/redis';
import { SPANS, tracing } from '#libs/telemetry';
import type { AuditEvent } from './audit-event.js';
import { AUDIT_QUEUE, bullPrefix, type AuditBatchJob } from './audit-queue.js';
import { estimatedRecordBytes, toRecord, uuidv7, type AuditRecord } from './audit-record.js';
import { AuditTrail } from './audit-trail.js';

interface Pending {
  record: AuditRecord;
  /** Its {@link estimatedRecordBytes}, counted against `AUDIT_BUFFER_MAX_BYTES` until Redis has it. */
  bytes: number;
  durable?: () => void;
}

// A batch is retried until Postgres takes it (the writer's backoff is capped at 30 s).
const JOB_OPTIONS = { attempts: Number.MAX_SAFE_INTEGER, backoff: { type: 'custom' }, removeOnComplete: { count: 100 } } as const;

// Retry of a failed flush: from 200 ms, doubling, up to 5 s.
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
// `addBulk`s at once while Redis answers (one while it does not).
const MAX_FLUSHES_IN_FLIGHT = 4;
// BullMQ's event stream of the queue (approximate cap; nothing in the gateway subscribes to it).
const EVENTS_MAX_LEN = 100;

/**
 * The producer side of the audit trail. Events become records (id, time, node, content hash) at
 * once and wait in memory for at most `AUDIT_BATCH_MS` (or until `AUDIT_BATCH_MAX` are waiting);
 * a record someone waits for (`recordDurably`: the sender's `delivered`) goes out at the next turn
 * of the event loop instead, with whatever came in that turn, up to four `addBulk`s in flight, so
 * the wait is one Redis round trip rather than a timer. Each micro-batch becomes one BullMQ job
 * whose id is the batch id, so a retried add never duplicates it. Redis is the durable buffer from there on: Postgres can be down, the writer
 * retries. While Redis itself is unreachable, records wait in memory (up to `AUDIT_BUFFER_MAX`
 * records and `AUDIT_BUFFER_MAX_BYTES` of their estimated size, counting those of an `addBulk` still
 * in flight) and go out when it is back; a crash during that outage loses them (documented).
 */
@Injectable()
export class QueueAuditTrail extends AuditTrail implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private readonly connection: RedisClient;
  /** Made once the connection is first ready (see the constructor). */
  private queue: Queue<AuditBatchJob> | null = null;
  private buffer: Pending[] = [];
  /** Records accepted and not yet in Redis (buffered or in flight), and their estimated bytes. */
  private held = 0;
  private heldBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** A flush due at the next turn of the event loop (someone waits for a record). */
  private immediate: NodeJS.Immediate | null = null;
  private readonly flushing = new Set<Promise<void>>();
  /** Records in the buffer that someone waits for. */
  private awaited = 0;
  private retryMs = RETRY_MIN_MS;
  private healthy = true;
  private dropped = 0;
  private readonly droppedBy = { records: 0, bytes: 0 };

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
    // Its own connection, failing fast: a down Redis must not stall the flush loop.
    this.connection = createRedis(config.redis.topology, {
      connectionName: `${config.nodeId}:audit`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    this.connection.on('error', () => undefined);
    // BullMQ connects a client it is given in the `wait` state itself, and if that first connect
    // fails its queue stays broken for good. So the queue is made only once the connection is
    // ready (ioredis keeps reconnecting after a failed first connect); records wait until then.
    this.connection.on('ready', () => {
      if (this.queue) return;
      this.queue = new Queue<AuditBatchJob>(AUDIT_QUEUE, {
        connection: this.connection,
        prefix: bullPrefix(config.redis.keyPrefix, isCluster(this.connection)),
        // Nothing reads the queue's event stream: keep it short (BullMQ's default is ~10,000 events).
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
      });
      this.queue.on('error', () => undefined);
      if (this.buffer.length > 0) this.fire();
    });
  }

  async onModuleInit(): Promise<void> {
    this.metrics.sampleOnScrape(() => this.sampleQueue());
    await this.connection.connect().catch(() => undefined);
  }

  /** `agw_audit_queue_jobs` and `agw_audit_buffered_records`, read when `/metrics` is scraped. */
  private async sampleQueue(): Promise<void> {
    this.metrics.auditBuffered.set(this.held);
    if (!this.queue || !this.healthy) return;
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
      this.metrics.auditQueueJobs.labels(state).set(counts[state] ?? 0);
  }

  record(event: AuditEvent): void {
    if (tracing.enabled)
      tracing.run(SPANS.auditEnqueue, { attributes: { 'agw.audit.action': event.action } }, () => this.enqueue(traced(event)));
    else this.enqueue(event);
  }

  recordDurably(event: AuditEvent): Promise<void> {
    if (!tracing.enabled) return this.enqueueDurably(event);
    return tracing.run(SPANS.auditEnqueue, { attributes: { 'agw.audit.action': event.action, 'agw.audit.durable': true } }, () =>
      this.enqueueDurably(traced(event)),
    );
  }

  private enqueueDurably(event: AuditEvent): Promise<void> {
    // While Redis is unreachable the record waits in memory; the caller is not held up for it.
    if (!this.healthy || this.config.audit.durableWaitMs === 0) {
      this.enqueue(event);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.config.audit.durableWaitMs);
      this.enqueue(event, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    // Flush everything accepted, while Redis answers (bounded: the process must stop).
    const deadline = Date.now() + 3_000;
    await Promise.all(this.flushing);
    while (this.buffer.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.buffer.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (this.buffer.length > 0)
      this.logger.error(`${this.buffer.length} audit record(s) could not reach Redis before shutdown and are lost`);
    await this.queue?.close().catch(() => undefined);
    this.connection.disconnect();
  }

  private enqueue(event: AuditEvent, durable?: () => void): void {
    this.metrics.auditEvents.labels(event.action, event.outcome).inc();
    if (this.held >= this.config.audit.bufferMax) {
      this.drop('records', durable);
      return;
    }
    const record = toRecord(event, this.config.nodeId, this.config.audit.payloads);
    const bytes = estimatedRecordBytes(record);
    if (this.heldBytes + bytes > this.config.audit.bufferMaxBytes) {
      this.drop('bytes', durable);
      return;
    }
    this.held++;
    this.heldBytes += bytes;
    this.buffer.push({ record, bytes, ...(durable && { durable }) });
    if (durable) this.awaited++;
    this.schedule();
  }

  /** Counts and logs (the first of each cap, then every 10,000th) a record the buffer has no room for. */
  private drop(reason: 'records' | 'bytes', durable: (() => void) | undefined): void {
    durable?.();
    this.dropped++;
    this.droppedBy[reason]++;
    this.metrics.auditDropped.labels(reason).inc();
    if (this.droppedBy[reason] === 1 || this.dropped % 10_000 === 0) {
      const cap =
        reason === 'records'
          ? `AUDIT_BUFFER_MAX=${this.config.audit.bufferMax} records`
          : `AUDIT_BUFFER_MAX_BYTES=${this.config.audit.bufferMaxBytes} bytes`;
      this.logger.error(`audit buffer full (${cap}) while Redis is unreachable or slow: ${this.dropped} record(s) dropped`);
    }
  }

  /**
   * Plans the next flush of the buffer: at the next turn of the event loop when someone waits for
   * a record or a batch is full, after `AUDIT_BATCH_MS` otherwise; while Redis is unreachable,
   * after the retry delay, one flush at a time. A flush that ends plans the next.
   */
  private schedule(): void {
    if (this.buffer.length === 0) return;
    if (this.flushing.size >= (this.healthy ? MAX_FLUSHES_IN_FLIGHT : 1)) return;
    if (!this.healthy) {
      this.timer ??= setTimeout(() => this.fire(), this.retryMs);
      return;
    }
    if (this.awaited > 0 || this.buffer.length >= this.config.audit.batchMax) {
      this.immediate ??= setImmediate(() => this.fire());
      return;
    }
    this.timer ??= setTimeout(() => this.fire(), this.config.audit.batchMs);
  }

  private fire(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    void this.flush();
  }

  /** Sends what waits, one job per micro-batch, in one `addBulk`. */
  private flush(): Promise<void> {
    if (this.buffer.length === 0) return Promise.resolve();
    const taken = this.buffer;
    this.buffer = [];
    this.awaited = 0;
    const jobs: { name: string; data: AuditBatchJob; opts: typeof JOB_OPTIONS & { jobId: string } }[] = [];
    for (let i = 0; i < taken.length; i += this.config.audit.batchMax) {
      jobs.push({
        name: 'batch',
        data: { records: taken.slice(i, i + this.config.audit.batchMax).map((p) => p.record) },
        opts: { ...JOB_OPTIONS, jobId: uuidv7() },
      });
    }
    const added = this.queue ? this.queue.addBulk(jobs) : Promise.reject(new Error('not connected to Redis yet'));
    const flushing: Promise<void> = added
      .then(
        () => {
          if (!this.healthy) this.logger.log('audit queue reachable again');
          this.healthy = true;
          this.retryMs = RETRY_MIN_MS;
          this.held -= taken.length;
          for (const pending of taken) {
            this.heldBytes -= pending.bytes;
            pending.durable?.();
          }
        },
        (error: Error) => {
          if (this.healthy) this.logger.error(`audit queue unreachable (Redis): ${error.message}; keeping records in memory and retrying`);
          this.healthy = false;
          // Put them back in front. A retry makes new jobs of the same records (same ids): if the
          // first add did land after all, the writer skips the ids already written.
          this.buffer = [...taken, ...this.buffer];
          this.awaited = this.buffer.reduce((n, pending) => n + (pending.durable ? 1 : 0), 0);
          this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        },
      )
      .finally(() => {
        this.flushing.delete(flushing);
        this.schedule();
      });
    this.flushing.add(flushing);
    return flushing;
  }
}

/**
 * The event with the ids of the active (enqueue) span in its details: `trace_id` (contract §8) and
 * `span_id`, which the writer's span links to. A `trace_id` the caller set is kept.
 */
function traced(event: AuditEvent): AuditEvent {
  const ids = tracing.ids();
  if (!ids) return event;
  return { ...event, details: { ...event.details, trace_id: event.details.trace_id ?? ids.trace_id, span_id: ids.span_id } };
}
