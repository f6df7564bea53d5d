import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from '#libs/config';
import { AuditQueryService } from './audit-query.service.js';
import { AuditTrail } from './audit-trail.js';
import { AuditWriterService } from './audit-writer.service.js';
import { AuditRepository } from './audit.repository.js';
import { QueueAuditTrail } from './queue-audit-trail.js';
import { RedisPersistenceWatch } from './redis-persistence.watch.js';
import { VerifyAuditChains } from './verify-audit-chains.js';

/** The audit trail: the producer every plane records into, the reads, and (optionally) the writer. */
@Global()
@Module({})
export class AuditModule {
  /**
   * `writer`: run the Postgres writer in this application (one per process at most).
   * `watchRedisPersistence`: watch whether Redis keeps the queue across a restart (one per process:
   * the first application; the metrics and readiness it reports into are shared by the second).
   */
  static forRoot(_config: GatewayConfig, options: { writer: boolean; watchRedisPersistence?: boolean }): DynamicModule {
    return {
      module: AuditModule,
      providers: [
        { provide: AuditTrail, useClass: QueueAuditTrail },
        AuditRepository,
        AuditQueryService,
        VerifyAuditChains,
        ...(options.writer ? [AuditWriterService] : []),
        ...(options.watchRedisPersistence ? [RedisPersistenceWatch] : []),
      ],
      exports: [AuditTrail, AuditQueryService, VerifyAuditChains],
    };
  }
}
