import type { GatewayConfig } from '#libs/config';
import type { AuditRecord } from './audit-record.js';

/** The BullMQ queue of audit micro-batches. */
export const AUDIT_QUEUE = 'audit';

/** Job data: one micro-batch of records. */
export interface AuditBatchJob {
  records: AuditRecord[];
}

/** BullMQ keys live under the deployment's prefix too. */
export function bullPrefix(config: GatewayConfig): string {
  return `${config.redis.keyPrefix}bull`;
}
