import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '#libs/audit';
import { ConfigModule, type GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import { ObservabilityModule } from '#libs/observability';
import { PersistenceModule } from '#libs/persistence';
import { RedisModule } from '#libs/redis';

/**
 * What the operator CLI needs: configuration, Postgres, Redis (identity events), the identity
 * services, and the audit trail (its changes are audited like the admin API's; closing the
 * application flushes the records to the queue, a running writer stores them).
 */
@Module({})
export class CliModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(),
        PersistenceModule,
        RedisModule,
        AuditModule.forRoot(config, { writer: false }),
        IdentityModule,
      ],
    };
  }
}
