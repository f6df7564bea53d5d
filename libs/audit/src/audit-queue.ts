import type { AuditRecord } from './audit-record.js';

/** The BullMQ queue of audit micro-batches. */
export const AUDIT_QUEUE = 'audit';

/** Job data: one micro-batch of records. */
export interface AuditBatchJob {
  records: AuditRecord[];
}

/** BullMQ keys live under the deployment's prefix (`REDIS_KEY_PREFIX`) too. */
export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}bull`;
}
