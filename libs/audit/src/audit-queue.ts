import { fromRecordLine, recordLine, type AuditRecord } from './audit-record.js';

/** The BullMQ queue of audit micro-batches. */
export const AUDIT_QUEUE = 'audit';

/**
 * Job data: one micro-batch of records, as `lines` (their {@link recordLine}s joined with `\n`,
 * carried as made: one string for BullMQ to serialize, not a tree of objects). Jobs made before
 * lines existed hold `records` (the record objects); a writer still takes them, so an upgrade
 * leaves none unwritten.
 */
export interface AuditBatchJob {
  lines?: string;
  records?: AuditRecord[];
}

/** The job of a batch of record lines. */
export function batchJob(lines: readonly string[]): AuditBatchJob {
  return { lines: lines.join('\n') };
}

/** The record lines of a job, whichever form it has. */
export function jobLines(job: AuditBatchJob): string[] {
  if (typeof job.lines === 'string') return job.lines === '' ? [] : job.lines.split('\n');
  return (job.records ?? []).map(recordLine);
}

/** The records of a job, parsed (for readers of the queue other than the writer). */
export function jobRecords(job: AuditBatchJob): AuditRecord[] {
  return jobLines(job).map(fromRecordLine);
}

/**
 * BullMQ keys live under the deployment's prefix (`REDIS_KEY_PREFIX`) too: `agw:bull:audit:…`. On a
 * Redis Cluster every key of a queue must hash to one slot (BullMQ's scripts touch several), so
 * there the prefix is a hash tag: `agw:{bull}:audit:…`, the whole queue on one shard.
 *
 * @example
 * bullPrefix('agw:')       // 'agw:bull'
 * bullPrefix('agw:', true) // 'agw:{bull}'
 */
export function bullPrefix(keyPrefix: string, cluster = false): string {
  return cluster ? `${keyPrefix}{bull}` : `${keyPrefix}bull`;
}
