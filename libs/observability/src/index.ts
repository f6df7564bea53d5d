/** Metrics, health and readiness. */
export { ObservabilityModule } from './observability.module.js';
export { MetricsService } from './metrics.service.js';
export { ReadinessState } from './readiness.state.js';
export { DependencyProbe } from './dependency.probe.js';
export type { MetricsSampler } from './metrics.service.js';
export { RefusalLog } from './refusal-log.js';
export type { RefusalContext } from './refusal-log.js';
export { DependencyHealthRepository } from './dependency-health.repository.js';
export { HealthController } from './health.controller.js';
export { PUBLIC_ROUTE, Public } from './public-route.js';
