import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { GatewayConfig } from '#libs/config';

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

/** The process logger: JSON lines (or text), with the level from `LOG_LEVEL`. */
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
}
