import { Module } from '@nestjs/common';
import { HealthController } from '#libs/observability';
import { MetricsController } from './metrics.controller.js';

/** The admin plane, served on its own listener (`ADMIN_HOST`:`ADMIN_PORT`). */
@Module({ controllers: [HealthController, MetricsController] })
export class AdminModule {}
