import type { GatewayConfig } from '#libs/config';

/** The BullMQ queue of audit micro-batches. */
export const AUDIT_QUEUE = 'audit';

/** Job data: one micro-batch of records. */
export interface AuditBatchJob {
  records: import('./audit-record.js').AuditRecord[];
}

/** BullMQ keys live under the deployment's prefix too. */
export function bullPrefix(config: GatewayConfig): string {
  return `${config.redis.keyPrefix}bull`;
}
