import { Global, Module } from '@nestjs/common';
import { AuditTrail } from './audit-trail.js';
import { MetricsAuditTrail } from './metrics-audit-trail.js';

/** The audit trail every plane records into. */
@Global()
@Module({ providers: [{ provide: AuditTrail, useClass: MetricsAuditTrail }], exports: [AuditTrail] })
export class AuditModule {}
