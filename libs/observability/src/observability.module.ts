import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DependencyHealthRepository } from './dependency-health.repository.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessState } from './readiness.state.js';
import { RefusalLog } from './refusal-log.js';

/** Metrics and readiness, shared by every module of a process. */
@Global()
@Module({})
export class ObservabilityModule {
  /** Fresh instances. */
  static forRoot(): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [MetricsService, ReadinessState, RefusalLog, DependencyHealthRepository],
      exports: [MetricsService, ReadinessState, RefusalLog, DependencyHealthRepository],
    };
  }

  /** Instances created by another Nest application of the same process. */
  static withInstances(metrics: MetricsService, readiness: ReadinessState): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [
        { provide: MetricsService, useValue: metrics },
        { provide: ReadinessState, useValue: readiness },
        RefusalLog,
        DependencyHealthRepository,
      ],
      exports: [MetricsService, ReadinessState, RefusalLog, DependencyHealthRepository],
    };
  }
}
