import type { AuditEvent } from './audit-event.js';

/**
 * Where every plane reports audit events. `record` never throws and never waits on Postgres: the
 * routing path hands the event over and goes on.
 */
export abstract class AuditTrail {
  /** Hands an event over; it reaches the durable queue within the next micro-batch. */
  abstract record(event: AuditEvent): void;

  /**
   * Hands an event over and resolves once its micro-batch is in Redis (the durable queue), so the
   * caller can promise that the event will be written. Never rejects.
   */
  abstract recordDurably(event: AuditEvent): Promise<void>;
}
