/** The audit trail (contract §8): the interface every plane records into, its queue, writer and reads. */
export { AuditModule } from './audit.module.js';
export { AuditTrail } from './audit-trail.js';
export { AuditQueryService } from './audit-query.service.js';
export { VERIFY_DEFAULT_LIMIT, VERIFY_MAX_LIMIT, VERIFY_TIME_BUDGET_MS, VerifyAuditChains } from './verify-audit-chains.js';
export type { VerifyAuditChainsCommand, VerifyProblem, VerifyReport } from './verify-audit-chains.js';
export type { AuditFilter } from './audit.repository.js';
export { AUDIT_ACTIONS } from './audit-event.js';
export type { AuditAction, AuditActor, AuditEvent } from './audit-event.js';
export { GENESIS_HASH, canonicalJson, chainHash, recordLine, toRecord, uuidv7 } from './audit-record.js';
export type { AuditRecord, ChainedAuditRecord } from './audit-record.js';
export { AUDIT_QUEUE, batchJob, bullPrefix, jobRecords } from './audit-queue.js';
export { RedisNotDurableError, assertAuditQueueDurable } from './audit-queue-durability.js';
export type { AuditBatchJob } from './audit-queue.js';
