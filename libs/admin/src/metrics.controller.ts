import { Controller, Get, Header } from '@nestjs/common';
import { MetricsService, Public } from '#libs/observability';

/** `GET /metrics` on the admin port, Prometheus text format. */
@Public()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.render();
  }
}
