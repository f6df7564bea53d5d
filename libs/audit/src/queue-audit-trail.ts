import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { createRedis, isCluster, type RedisClient } from '#libs/redis';
import { SPANS, tracing } from '#libs/telemetry';
import type { AuditEvent } from './audit-event.js';
import { AUDIT_QUEUE, batchJob, bullPrefix, type AuditBatchJob } from './audit-queue.js';
import { eventRecordLine, heldRecordBytes, uuidv7 } from './audit-record.js';
import { STAGING_REFRESH_MS, AuditStagingRepository } from './audit-staging.repository.js';
import { AuditTrail, type ProvisionalRecord } from './audit-trail.js';

interface Pending {
  /** The record, serialized once (`recordLine`): staged and queued as it is. */
  line: string;
  /** Its {@link heldRecordBytes}, counted against `AUDIT_BUFFER_MAX_BYTES` until it is in a queue job. */
  bytes: number;
  durable?: () => void;
  /** Of a provisional record (`recordProvisionally`) only. */
  provisional?: Provisional;
}

/** What a provisional record adds: its id (a withdrawal names it), its state, and where it is staged. */
interface Provisional {
  id: string;
  state: 'open' | 'kept' | 'withdrawn';
  /** The staging entry holding it, once its `XADD` is confirmed. */
  seq: number;
  /** `agw_audit_events_total` of its action and outcome: counted when it is kept. */
  counter: { inc(): void };
}

/** One confirmed entry of the staging stream: its sequence number and its records. */
interface Staged {
  seq: number;
  pending: Pending[];
}

// A batch is retried until Postgres takes it (the writer's backoff is capped at 30 s); a completed
// job is deleted at once (a job holds up to AUDIT_BATCH_MAX records: keeping some would keep megabytes).
const JOB_OPTIONS = { attempts: Number.MAX_SAFE_INTEGER, backoff: { type: 'custom' }, removeOnComplete: true } as const;

// Retry of a failed flush: from 200 ms, doubling, up to 5 s.
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
// `XADD`s to the staging stream at once while Redis answers (one while it does not).
const MAX_STAGES_IN_FLIGHT = 4;
// BullMQ's event stream of the queue (approximate cap; nothing in the gateway subscribes to it).
const EVENTS_MAX_LEN = 100;

/**
 * The producer side of the audit trail, in two steps:
 *
 * 1. Staging. Events become records (id, time, node, content hash) at once, serialized once into
 *    their line (`recordLine`, what the writer hashes and writes), and wait in memory for
 *    at most `AUDIT_BATCH_MS`; a record someone waits for (`recordDurably`: the sender's
 *    `delivered`) goes at the next turn of the event loop instead, with whatever came in that turn.
 *    Either way one `XADD` appends them to this producer's staging stream in Redis (up to four in
 *    flight): that is the durable point, one cheap Redis command per flush. A provisional record
 *    (`recordProvisionally`: a message being delivered) is staged the same way but joins no job
 *    until its caller keeps it; withdrawn, it leaves memory and a withdrawal entry names it.
 * 2. Queueing. At most every `AUDIT_JOB_MS` (sooner when `AUDIT_BATCH_MAX` records are staged) the
 *    staged records become BullMQ jobs of up to `AUDIT_BATCH_MAX` records, in one `addBulk`, and the
 *    stream is trimmed. A job costs the queue and its writer a dozen Redis commands whatever its
 *    size, so below saturation this step is what keeps a job per message off the path.
 *
 * A producer that dies between the two leaves its stream behind; its lease (renewed every 5 s)
 * runs out and a writer writes the stream (`AuditWriterService`). A record can thus reach Postgres
 * twice (from a job and from the stream, or from a retried `addBulk` that had landed): the writer
 * skips an id already written. While Redis is unreachable, records wait in memory (up to
 * `AUDIT_BUFFER_MAX` records and `AUDIT_BUFFER_MAX_BYTES` of their lines, counting those
 * staged and not yet in a job) and go out when it is back; a crash during that outage loses them
 * (documented). The order of records is kept from staging to jobs.
 */
@Injectable()
export class QueueAuditTrail extends AuditTrail implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private readonly connection: RedisClient;
  private readonly staging: AuditStagingRepository;
  /** This producer's staging stream: one per process start, whatever `NODE_ID`. */
  private readonly instance: string;
  /** Made once the connection is first ready (see the constructor). */
  private queue: Queue<AuditBatchJob> | null = null;
  /** Records not yet in Redis. */
  private buffer: Pending[] = [];
  /** Records in the staging stream, not yet in a queue job, oldest first. */
  private staged: Staged[] = [];
  /**
   * Provisional records in the staging stream that their caller has not settled yet: they go to a
   * queue job once kept, and hold back the trim of their stream entry until then.
   */
  private readonly parked = new Set<Pending>();
  private stagedRecords = 0;
  private seq = 0;
  /** Records accepted and not yet in a queue job (buffered, staged or in flight), and their bytes (`heldRecordBytes`). */
  private held = 0;
  private heldBytes = 0;
  private stageTimer: NodeJS.Timeout | null = null;
  /** A staging flush due at the next turn of the event loop (someone waits for a record). */
  private immediate: NodeJS.Immediate | null = null;
  private jobTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly stagingFlights = new Set<Promise<void>>();
  /** The entries of the `XADD`s in flight. */
  private readonly stagingSeqs = new Set<number>();
  private jobFlight: Promise<void> | null = null;
  /** Records in the buffer that someone waits for. */
  private awaited = 0;
  private retryMs = RETRY_MIN_MS;
  private healthy = true;
  /** Shutting down: flushes are driven by the shutdown loop, no timer is armed. */
  private stopping = false;
  private dropped = 0;
  private readonly droppedBy = { records: 0, bytes: 0 };
  /** Children of `agw_audit_events_total` by action and outcome (a fixed set: the actions are an enum). */
  private readonly eventCounters = new Map<string, { inc(): void }>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.instance = `${config.nodeId}.${randomBytes(4).toString('hex')}`;
    // Its own connection, failing fast: a down Redis must not stall the flush loop.
    this.connection = createRedis(config.redis.topology, {
      connectionName: `${config.nodeId}:audit`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    this.connection.on('error', () => undefined);
    this.staging = new AuditStagingRepository(this.connection, config.redis.keyPrefix);
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
      this.renewLease();
      if (this.healthy) this.schedule();
      else this.retry();
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

  /** Renews the staging lease now and every few seconds (a failure waits for the next renewal). */
  private renewLease(): void {
    this.leaseTimer ??= setInterval(() => this.renewLease(), STAGING_REFRESH_MS).unref();
    this.staging.renew(this.instance).catch(() => undefined);
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

  recordProvisionally(event: AuditEvent): ProvisionalRecord {
    if (!tracing.enabled) return this.enqueueProvisionally(event);
    return tracing.run(SPANS.auditEnqueue, { attributes: { 'agw.audit.action': event.action, 'agw.audit.durable': true } }, () =>
      this.enqueueProvisionally(traced(event)),
    );
  }

  private enqueueProvisionally(event: AuditEvent): ProvisionalRecord {
    const provisional: Provisional = { id: uuidv7(), state: 'open', seq: 0, counter: this.eventCounter(event) };
    const { pending, durable } = this.holdDurably(event, provisional);
    const settle = (state: 'kept' | 'withdrawn'): void => {
      if (provisional.state !== 'open') return;
      provisional.state = state;
      if (state === 'kept') provisional.counter.inc();
      // A record the buffer had no room for was never held: there is nothing to settle.
      if (pending) this.settled(pending);
    };
    return { durable, keep: () => settle('kept'), withdraw: () => settle('withdrawn') };
  }

  /**
   * A provisional record was just settled. In the buffer or in an `XADD` in flight, `stage` sees
   * its state; staged, it leaves the parked set: into the next queue job when kept, or out of
   * memory, with a withdrawal in its stream, when withdrawn.
   */
  private settled(pending: Pending): void {
    if (!this.parked.delete(pending)) {
      // Not staged yet: a withdrawn record still waited for releases its waiter now.
      if (pending.provisional!.state === 'withdrawn') pending.durable?.();
      return;
    }
    if (pending.provisional!.state === 'kept') {
      this.staged.push({ seq: pending.provisional!.seq, pending: [pending] });
      this.stagedRecords++;
      this.schedule();
    } else {
      this.release(pending);
      this.withdrawStaged([pending.provisional!.id]);
    }
  }

  /** Marks records withdrawn in the staging stream, so that a writer taking it over skips them (best effort). */
  private withdrawStaged(ids: string[]): void {
    if (!this.queue) return;
    this.staging.withdraw(this.instance, ++this.seq, ids).catch(() => undefined);
  }

  /** A record leaves memory without reaching a queue job (withdrawn). */
  private release(pending: Pending): void {
    this.held--;
    this.heldBytes -= pending.bytes;
  }

  private enqueueDurably(event: AuditEvent): Promise<void> {
    this.eventCounter(event).inc();
    return this.holdDurably(event).durable;
  }

  /**
   * Holds the event's record with a waiter: `durable` resolves once the record is staged, or after
   * `AUDIT_DURABLE_WAIT_MS` at the latest; at once when the wait is off or while Redis is
   * unreachable (the record waits in memory; the caller is not held up for it). `pending` is null
   * when the buffer had no room for the record.
   */
  private holdDurably(event: AuditEvent, provisional?: Provisional): { pending: Pending | null; durable: Promise<void> } {
    if (!this.healthy || this.config.audit.durableWaitMs === 0)
      return { pending: this.hold(event, undefined, provisional), durable: Promise.resolve() };
    let pending: Pending | null = null;
    const durable = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.audit.durableWaitMs);
      pending = this.hold(
        event,
        () => {
          clearTimeout(timer);
          resolve();
        },
        provisional,
      );
    });
    return { pending, durable };
  }

  /**
   * Stages and queues everything accepted, while Redis answers (bounded: the process must stop).
   * What is staged but could not be queued stays in Redis for a writer to take over.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    const deadline = Date.now() + 3_000;
    await Promise.all([...this.stagingFlights, this.jobFlight]);
    // Parked records are settled as their deliveries end (the drain waited for those).
    const unqueued = (): boolean => this.buffer.length > 0 || this.staged.length > 0 || this.parked.size > 0;
    while (unqueued() && Date.now() < deadline) {
      if (this.buffer.length > 0) await this.stage();
      if (this.staged.length > 0) await this.queueStaged();
      if (unqueued()) await new Promise((r) => setTimeout(r, 100));
    }
    if (this.buffer.length > 0)
      this.logger.error(`${this.buffer.length} audit record(s) could not reach Redis before shutdown and are lost`);
    if (this.staged.length > 0 || this.parked.size > 0)
      this.logger.warn(
        `${this.stagedRecords + this.parked.size} audit record(s) left in Redis (staging stream ${this.instance}) for a writer to take over`,
      );
    else await this.staging.release(this.instance).catch(() => undefined);
    await this.queue?.close().catch(() => undefined);
    this.connection.disconnect();
  }

  private clearTimers(): void {
    if (this.stageTimer) clearTimeout(this.stageTimer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.jobTimer) clearTimeout(this.jobTimer);
    this.stageTimer = null;
    this.immediate = null;
    this.jobTimer = null;
  }

  private enqueue(event: AuditEvent): void {
    this.eventCounter(event).inc();
    this.hold(event);
  }

  /** Serializes the event's record and buffers it; null when a cap leaves no room for it (dropped). */
  private hold(event: AuditEvent, durable?: () => void, provisional?: Provisional): Pending | null {
    if (this.held >= this.config.audit.bufferMax) {
      this.drop('records', durable);
      return null;
    }
    const line = eventRecordLine(event, this.config.nodeId, this.config.audit.payloads, provisional?.id);
    const bytes = heldRecordBytes(line);
    if (this.heldBytes + bytes > this.config.audit.bufferMaxBytes) {
      this.drop('bytes', durable);
      return null;
    }
    this.held++;
    this.heldBytes += bytes;
    const pending: Pending = { line, bytes };
    if (durable) pending.durable = durable;
    if (provisional) pending.provisional = provisional;
    this.buffer.push(pending);
    if (durable) this.awaited++;
    this.schedule();
    return pending;
  }

  /** `agw_audit_events_total` of the event's action and outcome, bound once per pair (prom-client hashes labels on every call). */
  private eventCounter(event: AuditEvent): { inc(): void } {
    const key = `${event.action}|${event.outcome}`;
    let counter = this.eventCounters.get(key);
    if (!counter) {
      counter = this.metrics.auditEvents.labels(event.action, event.outcome);
      this.eventCounters.set(key, counter);
    }
    return counter;
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
   * Plans the next flushes. Staging: at the next turn of the event loop when someone waits for a
   * record or `AUDIT_BATCH_MAX` wait, after `AUDIT_BATCH_MS` otherwise. Queueing: `AUDIT_JOB_MS`
   * after the first staged record (at once when `AUDIT_BATCH_MAX` are staged), one `addBulk` at a
   * time. While Redis is unreachable: after the retry delay, one flush at a time. A flush that ends
   * plans the next.
   */
  private schedule(): void {
    if (this.stopping) return;
    if (!this.healthy) {
      if (this.stagingFlights.size === 0 && !this.jobFlight && (this.buffer.length > 0 || this.staged.length > 0))
        this.stageTimer ??= setTimeout(() => this.retry(), this.retryMs);
      return;
    }
    if (this.buffer.length > 0 && this.stagingFlights.size < MAX_STAGES_IN_FLIGHT) {
      if (this.awaited > 0 || this.buffer.length >= this.config.audit.batchMax) this.immediate ??= setImmediate(() => this.fireStage());
      else this.stageTimer ??= setTimeout(() => this.fireStage(), this.config.audit.batchMs);
    }
    if (this.staged.length > 0 && !this.jobFlight) {
      if (this.stagedRecords >= this.config.audit.batchMax) {
        if (this.jobTimer) clearTimeout(this.jobTimer);
        this.jobTimer = null;
        void this.queueStaged();
      } else this.jobTimer ??= setTimeout(() => this.fireJob(), this.config.audit.jobMs);
    }
  }

  private fireStage(): void {
    if (this.stageTimer) clearTimeout(this.stageTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.stageTimer = null;
    this.immediate = null;
    void this.stage();
  }

  private fireJob(): void {
    this.jobTimer = null;
    void this.queueStaged();
  }

  /** After a failure: staging first (what is staged keeps its place before what is not), then queueing. */
  private retry(): void {
    this.clearTimers();
    void (this.buffer.length > 0 ? this.stage() : this.queueStaged());
  }

  /** Appends what waits in memory to the staging stream, in one `XADD`. */
  private stage(): Promise<void> {
    const taken = this.withoutWithdrawn(this.buffer);
    this.buffer = [];
    this.awaited = 0;
    if (taken.length === 0) return Promise.resolve();
    const seq = ++this.seq;
    this.stagingSeqs.add(seq);
    const added = this.queue
      ? this.staging.stage(this.instance, seq, taken.map((p) => p.line).join('\n'))
      : Promise.reject(new Error('not connected to Redis yet'));
    const flight: Promise<void> = added
      .then(
        () => {
          this.reachable();
          this.staged.push({ seq, pending: this.confirmStaged(taken, seq) });
          for (const pending of taken) pending.durable?.();
        },
        (error: Error) => {
          this.unreachable(error);
          // Back in front; staged again later under a new sequence number. If the first `XADD`
          // did land after all, the writer skips the ids already written.
          this.buffer = [...this.withoutWithdrawn(taken), ...this.buffer];
          this.awaited = this.buffer.reduce((n, pending) => n + (pending.durable ? 1 : 0), 0);
        },
      )
      .finally(() => {
        this.stagingSeqs.delete(seq);
        this.stagingFlights.delete(flight);
        this.schedule();
      });
    this.stagingFlights.add(flight);
    return flight;
  }

  /** `records` without the withdrawn ones, which leave memory. */
  private withoutWithdrawn(records: Pending[]): Pending[] {
    if (!records.some((p) => p.provisional?.state === 'withdrawn')) return records;
    return records.filter((p) => {
      if (p.provisional?.state !== 'withdrawn') return true;
      this.release(p);
      return false;
    });
  }

  /**
   * The records of a confirmed staging entry that go on to a queue job. An open provisional one is
   * parked until settled; one withdrawn while its `XADD` was in flight leaves memory, and its
   * withdrawal is staged after it.
   */
  private confirmStaged(taken: Pending[], seq: number): Pending[] {
    let kept = taken;
    const withdrawn: string[] = [];
    if (taken.some((p) => p.provisional !== undefined && p.provisional.state !== 'kept')) {
      kept = [];
      for (const pending of taken) {
        const provisional = pending.provisional;
        if (provisional === undefined || provisional.state === 'kept') kept.push(pending);
        else if (provisional.state === 'open') {
          provisional.seq = seq;
          this.parked.add(pending);
        } else {
          this.release(pending);
          withdrawn.push(provisional.id);
        }
      }
    }
    this.stagedRecords += kept.length;
    if (withdrawn.length > 0) this.withdrawStaged(withdrawn);
    return kept;
  }

  /**
   * The stream entries a queue job of `taken` lets go: all below the oldest entry still holding a
   * record not in a job (parked, staged for the next job, or in an `XADD` in flight), withdrawals
   * included, and the entries of `taken` above it that hold nothing else.
   */
  private trimAfter(taken: Staged[]): { below: number; entries: number[] } {
    const holding = new Set<number>(this.stagingSeqs);
    for (const pending of this.parked) holding.add(pending.provisional!.seq);
    for (const entry of this.staged) holding.add(entry.seq);
    let below = this.seq + 1;
    for (const seq of holding) below = Math.min(below, seq);
    const entries = new Set<number>();
    for (const entry of taken) if (entry.seq > below && !holding.has(entry.seq)) entries.add(entry.seq);
    return { below, entries: [...entries] };
  }

  /** Hands the staged records to the queue: jobs of up to `AUDIT_BATCH_MAX` in one `addBulk`, then trims the stream. */
  private queueStaged(): Promise<void> {
    if (this.staged.length === 0 || this.jobFlight) return this.jobFlight ?? Promise.resolve();
    const taken = this.staged;
    const records = taken.flatMap((entry) => entry.pending);
    this.staged = [];
    this.stagedRecords = 0;
    const jobs: { name: string; data: AuditBatchJob; opts: typeof JOB_OPTIONS & { jobId: string } }[] = [];
    for (let i = 0; i < records.length; i += this.config.audit.batchMax) {
      jobs.push({
        name: 'batch',
        data: batchJob(records.slice(i, i + this.config.audit.batchMax).map((p) => p.line)),
        opts: { ...JOB_OPTIONS, jobId: uuidv7() },
      });
    }
    const added = this.queue ? this.queue.addBulk(jobs) : Promise.reject(new Error('not connected to Redis yet'));
    const flight: Promise<void> = added
      .then(
        () => {
          this.reachable();
          this.held -= records.length;
          for (const pending of records) this.heldBytes -= pending.bytes;
          // Left in the stream if this fails: the next trim takes it, or a writer skips it as written.
          const { below, entries } = this.trimAfter(taken);
          this.staging.trim(this.instance, below, entries).catch(() => undefined);
        },
        (error: Error) => {
          this.unreachable(error);
          // Back in front of what was staged meanwhile. A retry makes new jobs of the same
          // records (same ids): if the first add did land after all, the writer skips them.
          this.staged = [...taken, ...this.staged];
          this.stagedRecords += records.length;
        },
      )
      .finally(() => {
        this.jobFlight = null;
        this.schedule();
      });
    this.jobFlight = flight;
    return flight;
  }

  private reachable(): void {
    if (!this.healthy) this.logger.log('audit queue reachable again');
    this.healthy = true;
    this.retryMs = RETRY_MIN_MS;
  }

  private unreachable(error: Error): void {
    if (this.healthy) this.logger.error(`audit queue unreachable (Redis): ${error.message}; keeping records in memory and retrying`);
    this.healthy = false;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
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
