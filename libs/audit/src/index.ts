/** The audit trail (contract §8): the interface every plane records into. */
export { AuditModule } from './audit.module.js';
export { AuditTrail } from './audit-trail.js';
export { AUDIT_ACTIONS } from './audit-event.js';
export type { AuditAction, AuditActor, AuditEvent } from './audit-event.js';
