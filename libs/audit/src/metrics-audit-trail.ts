import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '#libs/observability';
import type { AuditEvent } from './audit-event.js';
import { AuditTrail } from './audit-trail.js';

/**
 * The audit trail before its Postgres writer (issue 5): events are counted by action and
 * outcome, and denials are logged. It keeps the interface the guards and services call.
 */
@Injectable()
export class MetricsAuditTrail extends AuditTrail {
  private readonly logger = new Logger('Audit');

  constructor(private readonly metrics: MetricsService) {
    super();
  }

  record(event: AuditEvent): void {
    this.metrics.auditEvents.labels(event.action, event.outcome).inc();
    if (event.outcome !== 'allowed')
      this.logger.log({
        audit: event.action,
        outcome: event.outcome,
        reason: event.reason,
        tenant_id: event.tenant_id,
        actor: event.actor,
        subject: event.subject,
      });
  }
}
