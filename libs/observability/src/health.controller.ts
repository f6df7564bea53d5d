import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { PrismaService } from '#libs/persistence';
import type { HealthResponse } from '#libs/protocol';
import { RedisService } from '#libs/redis';
import { Public } from './public-route.js';
import { ReadinessState } from './readiness.state.js';

/** `/healthz` (the process is alive) and `/readyz` (Postgres and Redis reachable, not draining). */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly readiness: ReadinessState,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): HealthResponse {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: Response): Promise<HealthResponse> {
    const [postgres, redis] = await Promise.all([this.prisma.isReachable(), this.redis.isReachable()]);
    const checks: Record<string, 'ok' | 'down'> = {
      postgres: postgres ? 'ok' : 'down',
      redis: redis ? 'ok' : 'down',
      accepting: this.readiness.draining ? 'down' : 'ok',
    };
    const ok = Object.values(checks).every((c) => c === 'ok');
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}
