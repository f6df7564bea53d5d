import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Worker, type Job } from 'bullmq';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { createRedis, isCluster, type RedisClient } from '#libs/redis';
import { SPANS, tracing, type Link } from '#libs/telemetry';
import { wantedPartitions } from './audit-partitions.js';
import { AUDIT_QUEUE, bullPrefix, jobLines, type AuditBatchJob } from './audit-queue.js';
import { fromRecordLine, parseRecordLine, type ChainedAuditRecord } from './audit-record.js';
import { AuditStagingRepository, LEGACY_STAGING_NAMESPACE } from './audit-staging.repository.js';
import { AuditRepository } from './audit.repository.js';
import { GroupCommit } from './group-commit.js';

// A failed batch (Postgres down) is retried after 500 ms, doubling, at most every 30 s, for ever.
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PURGE_INTERVAL_MS = 6 * 60 * 60_000;
// The first purge, soon after start: a node that restarts often still purges.
const FIRST_PURGE_MS = 2_000;
// Partitions are created ahead at start and then hourly; a failed attempt is tried again a minute later.
const PARTITION_INTERVAL_MS = 60 * 60_000;
const PARTITION_RETRY_MS = 60_000;
// Jobs taken from the queue at once; those that arrive while a transaction runs go into the next.
const CONCURRENCY = 32;
// Most records in one transaction.
const GROUP_MAX_RECORDS = 5_000;
// Dead producers' staging streams are looked for at start and then this often; entries read at once.
const SWEEP_INTERVAL_MS = 5_000;
const SWEEP_ENTRIES = 100;
// Links of one write span to the spans that enqueued its records.
const MAX_LINKS = 128;

/**
 * The consumer side of the audit trail: a BullMQ worker that writes each micro-batch in one
 * transaction. When Postgres is down, the batch's job fails and is retried with capped backoff,
 * indefinitely: nothing is dropped, and an id already written is skipped, so nothing is doubled.
 * Jobs live in Redis, so a writer that stops (SIGTERM, crash) leaves them for the next one. Runs in
 * the gateway when `AUDIT_WORKER=true`, or alone in `apps/audit-worker`. It keeps the partitions of
 * `audit_records` created ahead (the current `AUDIT_PARTITION_PERIOD` and `AUDIT_PARTITIONS_AHEAD`
 * more; at start, before it takes a job, then hourly) and, every six hours, drops the partitions
 * older than `AUDIT_RETENTION_DAYS` (see `AuditRepository.purgeBefore`). Several writers may run:
 * one at a time does either (an advisory lock), and both are idempotent.
 *
 * Group commit (`GroupCommit`): the worker holds up to 32 jobs at once, and one transaction at a
 * time writes every batch that is waiting (up to 5,000 records); a job completes when its
 * transaction commits, and fails (to be retried) when it does not. When idle, the first batch
 * waits `AUDIT_WRITE_LINGER_MS` for others to join its transaction.
 */
@Injectable()
export class AuditWriterService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AuditWriter');
  private readonly connection: RedisClient;
  private worker: Worker<AuditBatchJob> | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private partitionTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failing = false;
  private readonly group: GroupCommit;
  /** The staging streams of producers: record lines, and those of the previous release's producers. */
  private readonly stagings: AuditStagingRepository[];
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly audit: AuditRepository,
    private readonly metrics: MetricsService,
  ) {
    // BullMQ workers block on Redis: their connection must retry for ever.
    this.connection = createRedis(config.redis.topology, {
      connectionName: `${config.nodeId}:audit-writer`,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    });
    this.connection.on('error', () => undefined);
    this.stagings = [
      new AuditStagingRepository(this.connection, config.redis.keyPrefix),
      new AuditStagingRepository(this.connection, config.redis.keyPrefix, LEGACY_STAGING_NAMESPACE),
    ];
    this.group = new GroupCommit(audit, GROUP_MAX_RECORDS, (records) => this.written(records), config.audit.writeLingerMs);
  }

  async onModuleInit(): Promise<void> {
    // Before the first job: the partitions a batch goes to exist (the default partition catches the rest).
    await this.upkeep();
    this.worker = new Worker<AuditBatchJob>(AUDIT_QUEUE, (job: Job<AuditBatchJob>) => this.write(jobLines(job.data)), {
      connection: this.connection,
      prefix: bullPrefix(this.config.redis.keyPrefix, isCluster(this.connection)),
      concurrency: CONCURRENCY,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 1000 },
      settings: { backoffStrategy: (attemptsMade: number) => Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attemptsMade, 16)) },
    });
    this.worker.on('error', (error) => this.logger.warn(`audit worker: ${error.message}`));
    this.worker.on('failed', (job, error) => {
      // A failed attempt goes back to the queue with backoff (attempts are unlimited, see the producer).
      if (!this.failing) this.logger.error(`audit batch not written, retrying with backoff: ${error.message}`);
      this.failing = true;
      void job;
    });
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    void this.sweep();
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
    setTimeout(() => void this.purge(), FIRST_PURGE_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.partitionTimer) clearTimeout(this.partitionTimer);
    // Finishes the batch in hand; what is still queued stays in Redis for the next writer.
    await this.worker?.close().catch(() => undefined);
    this.connection.disconnect();
  }

  /**
   * One micro-batch into the group commit. Traced, it is a span of its own trace, linked to the
   * enqueue span of each record that has one (a batch holds records of many traces), at most
   * {@link MAX_LINKS} of them.
   */
  private write(lines: string[]): Promise<number> {
    // Parsed as the job arrives, while the transaction before it is being written.
    const records = lines.map(parseRecordLine);
    if (!tracing.enabled) return this.group.submit(records);
    const links: Link[] = [];
    for (const { record } of records) {
      const { trace_id: traceId, span_id: spanId } = record.details as { trace_id?: unknown; span_id?: unknown };
      if (typeof traceId !== 'string' || typeof spanId !== 'string') continue;
      links.push({ context: { traceId, spanId, traceFlags: 1 } });
      if (links.length === MAX_LINKS) break;
    }
    return tracing.run(
      SPANS.auditWrite,
      {
        root: true,
        links,
        attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'INSERT', 'agw.audit.records': records.length },
      },
      () => this.group.submit(records),
    );
  }

  /**
   * Writes the staging streams of producers that died before handing their records to the queue
   * (their lease ran out: see `QueueAuditTrail`), one claimed stream at a time, then forgets them.
   * A failure (Postgres, Redis) leaves the stream claimed until the claim expires; the next sweep
   * after that goes on from where this one stopped.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      for (const staging of this.stagings)
        for (const instance of await staging.orphans()) if (!this.stopped) await this.takeOver(staging, instance);
    } catch (error) {
      this.logger.warn(`audit staging sweep failed, will retry: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  /** Writes the stream of one dead producer, if this writer gets the claim, and forgets it. */
  private async takeOver(staging: AuditStagingRepository, instance: string): Promise<void> {
    if (!(await staging.claim(instance, `${this.config.nodeId}:audit-writer`))) return;
    let taken = 0;
    // Provisional records withdrawn after they were staged (a delivery that failed) are not written.
    const withdrawn = await staging.sweptWithdrawals(instance, SWEEP_ENTRIES);
    for (let entries = await staging.sweptEntries(instance, SWEEP_ENTRIES); entries.length > 0;) {
      let records = entries.flatMap((entry) => entry.lines);
      if (withdrawn.size > 0) records = records.filter((line) => !withdrawn.has(fromRecordLine(line).id));
      if (records.length > 0) await this.write(records);
      await staging.dropSwept(instance, entries[entries.length - 1]!.id);
      taken += records.length;
      entries = await staging.sweptEntries(instance, SWEEP_ENTRIES);
    }
    await staging.finishSweep(instance);
    if (taken > 0) this.logger.warn(`took over ${taken} audit record(s) staged by ${instance}, which stopped before queueing them`);
  }

  private written(records: ChainedAuditRecord[]): void {
    if (this.failing) this.logger.log('audit writes resumed');
    this.failing = false;
    this.metrics.auditWritten.inc(records.length);
    const now = Date.now();
    for (const record of records) this.metrics.auditLagSeconds.observe((now - Date.parse(record.timestamp)) / 1000);
  }

  /** Creates the partitions due now; schedules the next run (sooner after a failure). */
  private async upkeep(): Promise<void> {
    let next = PARTITION_INTERVAL_MS;
    try {
      const { partitionPeriod, partitionsAhead } = this.config.audit;
      const done = await this.audit.ensurePartitions(wantedPartitions(new Date(), partitionPeriod, partitionsAhead));
      if (done.created.length > 0)
        this.logger.log(
          `partitions: created ${done.created.join(', ')}${done.moved > 0 ? ` (moved ${done.moved} record(s) from the default partition)` : ''}`,
        );
    } catch (error) {
      next = PARTITION_RETRY_MS;
      this.logger.warn(`partition upkeep failed, will retry: ${(error as Error).message}`);
    }
    if (this.stopped) return;
    this.partitionTimer = setTimeout(() => void this.upkeep(), next);
    this.partitionTimer.unref();
  }

  private async purge(): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.audit.retentionDays * 86_400_000);
    try {
      const done = await this.audit.purgeBefore(cutoff);
      if (done.deleted > 0) this.logger.log(`retention: purged ${done.deleted} audit record(s) older than ${cutoff.toISOString()}`);
      for (const p of done.dropped)
        this.logger.log(`retention: dropped partition ${p.name} (about ${p.estimatedRows} record(s)), older than ${cutoff.toISOString()}`);
    } catch (error) {
      this.logger.warn(`retention purge failed, will retry: ${(error as Error).message}`);
    }
  }
}
