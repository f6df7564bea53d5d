import { Global, Module, type DynamicModule } from '@nestjs/common';
import { MetricsService } from './metrics.service.js';
import { ReadinessState } from './readiness.state.js';

/** Metrics and readiness, shared by every module of a process. */
@Global()
@Module({})
export class ObservabilityModule {
  /** Fresh instances. */
  static forRoot(): DynamicModule {
    return { module: ObservabilityModule, providers: [MetricsService, ReadinessState], exports: [MetricsService, ReadinessState] };
  }

  /** Instances created by another Nest application of the same process. */
  static withInstances(metrics: MetricsService, readiness: ReadinessState): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [
        { provide: MetricsService, useValue: metrics },
        { provide: ReadinessState, useValue: readiness },
      ],
      exports: [MetricsService, ReadinessState],
    };
  }
}
