import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AuditModule } from '#libs/audit';
import { ConfigModule, type GatewayConfig } from '#libs/config';
import { DependencyProbe, MetricsService, ObservabilityModule, ReadinessState } from '#libs/observability';
import { PersistenceModule, PrismaService, SharedPersistenceModule } from '#libs/persistence';
import { RedisModule } from '#libs/redis';
import { HttpErrorFilter } from './http-error.filter.js';
import { JsonDepthPipe } from './json-depth.pipe.js';
import { TracingShutdown } from './telemetry.js';

/** Process-wide state shared by both listeners of one process (metrics, readiness, the Postgres pool). */
export interface SharedState {
  metrics: MetricsService;
  readiness: ReadinessState;
  prisma: PrismaService;
}

/** What the second application of a process takes from the first: its metrics, readiness and Postgres pool. */
export function sharedStateOf(app: INestApplicationContext): SharedState {
  return { metrics: app.get(MetricsService), readiness: app.get(ReadinessState), prisma: app.get(PrismaService) };
}

/**
 * The root module of one listener: configuration, Postgres, Redis and observability around a
 * plane module. When both planes run in one process, the second reuses the first's metrics and
 * readiness so `/metrics` and `/readyz` speak for the whole process, and its Prisma client, so the
 * process has one Postgres pool of `DATABASE_POOL_SIZE` connections; the first also hosts the
 * process's one watch of Redis's persistence.
 */
@Module({})
export class ProcessModule {
  static forRoot(
    config: GatewayConfig,
    plane: Type | DynamicModule,
    shared?: SharedState,
    options: { auditWriter: boolean } = { auditWriter: false },
  ): DynamicModule {
    return {
      module: ProcessModule,
      imports: [
        ConfigModule.forRoot(config),
        shared ? ObservabilityModule.withInstances(shared.metrics, shared.readiness) : ObservabilityModule.forRoot(),
        shared ? SharedPersistenceModule.withInstance(shared.prisma) : PersistenceModule,
        RedisModule,
        AuditModule.forRoot(config, { writer: options.auditWriter, watchRedisPersistence: !shared }),
        plane,
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_PIPE, useClass: JsonDepthPipe },
        // Once per process: a second listener shares the first's metrics (and closes first).
        ...(shared ? [] : [DependencyProbe, TracingShutdown]),
      ],
    };
  }
}
