import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { GatewayConfig } from '#libs/config';
import { tracing } from '#libs/telemetry';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

// Nest's start-up chatter (one line per module and route) is useful only when debugging.
const CHATTY_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'WebSocketsController',
  'NestApplication',
]);

/**
 * The process logger: JSON lines (or text), with the level from `LOG_LEVEL`. A line written while a
 * span is active (tracing on) carries its `trace_id` and `span_id`, so a refusal's line leads to its
 * trace and back.
 */
export class GatewayLogger extends ConsoleLogger {
  constructor(config: GatewayConfig['log']) {
    super({ json: config.format === 'json', colors: false, logLevels: LEVELS.slice(0, LEVELS.indexOf(config.level) + 1) });
  }

  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && CHATTY_CONTEXTS.has(context)) {
      super.debug(message, ...rest);
      return;
    }
    super.log(message, ...rest);
  }

  protected override getJsonLogObject(
    message: unknown,
    options: Parameters<ConsoleLogger['getJsonLogObject']>[1],
  ): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const line = super.getJsonLogObject(message, options);
    const ids = tracing.ids();
    return ids ? { ...line, ...ids } : line;
  }

  protected override formatMessage(...args: Parameters<ConsoleLogger['formatMessage']>): string {
    const line = super.formatMessage(...args);
    const ids = tracing.ids();
    return ids ? line.replace(/\n$/, ` trace_id=${ids.trace_id} span_id=${ids.span_id}\n`) : line;
  }
}
