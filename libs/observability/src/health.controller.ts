import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { HealthResponse, ReadinessChecks } from '#libs/protocol';
import { DependencyHealthRepository } from './dependency-health.repository.js';
import { Public } from './public-route.js';
import { ReadinessState } from './readiness.state.js';

/**
 * `/healthz` (the process is alive) and `/readyz` (Postgres and Redis reachable, not draining; with
 * the audit queue's Redis persistence as a detail that never makes the node unready).
 */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly dependencies: DependencyHealthRepository,
    private readonly readiness: ReadinessState,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): HealthResponse {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: Response): Promise<HealthResponse> {
    const { postgres, redis } = await this.dependencies.check();
    const accepting = !this.readiness.draining;
    const checks: ReadinessChecks = {
      postgres: postgres ? 'ok' : 'down',
      redis: redis ? 'ok' : 'down',
      accepting: accepting ? 'ok' : 'down',
    };
    // A detail for operators, not a probe: a volatile Redis is refused at start in production, not by the load balancer.
    if (this.readiness.redisPersistence) checks.redis_persistence = this.readiness.redisPersistence;
    const ok = postgres && redis && accepting;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}
