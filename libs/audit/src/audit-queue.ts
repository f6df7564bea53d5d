import type { AuditRecord } from './audit-record.js';

/** The BullMQ queue of audit micro-batches. */
export const AUDIT_QUEUE = 'audit';

/** Job data: one micro-batch of records. */
export interface AuditBatchJob {
  records: AuditRecord[];
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
