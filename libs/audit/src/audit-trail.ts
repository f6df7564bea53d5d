import type { AuditEvent } from './audit-event.js';

/**
 * Where every plane reports audit events. `record` never throws and never waits on Postgres: the
 * routing path hands the event over and goes on.
 */
export abstract class AuditTrail {
  abstract record(event: AuditEvent): void;
}
