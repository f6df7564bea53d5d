import type { AuditEvent } from './audit-event.js';

/**
 * A record of an event still under way (a message being delivered): staged in Redis at once, while
 * the event happens, and written only if its caller keeps it. So the caller's wait for the record
 * to be durable runs beside the event instead of after it.
 */
export interface ProvisionalRecord {
  /**
   * Resolves once the record is in Redis (the durable queue), or after `AUDIT_DURABLE_WAIT_MS`, or
   * at once while Redis is unreachable (the record then waits in memory). Never rejects.
   */
  readonly durable: Promise<void>;
  /** The event happened: the record goes on to Postgres like any other. */
  keep(): void;
  /** It did not: the record is dropped, and a writer that takes over this node's staging skips it. */
  withdraw(): void;
}

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

  /**
   * Hands over the record of an event that is about to happen and may not (see
   * {@link ProvisionalRecord}); the caller settles it with `keep` or `withdraw`, exactly once.
   */
  abstract recordProvisionally(event: AuditEvent): ProvisionalRecord;
}
