import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import { PersistenceModule } from '#libs/persistence';
import { RedisModule } from '#libs/redis';

/** What the operator CLI needs: configuration, Postgres, Redis (identity events) and the identity services. */
@Module({})
export class CliModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return { module: CliModule, imports: [ConfigModule.forRoot(config), PersistenceModule, RedisModule, IdentityModule] };
  }
}
