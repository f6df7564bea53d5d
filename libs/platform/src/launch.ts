import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication, LoggerService, NestApplicationOptions, Type } from '@nestjs/common';

type HttpsOptions = NonNullable<NestApplicationOptions['httpsOptions']>;
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RedisNotDurableError, assertAuditQueueDurable } from '#libs/audit';
import { ConfigError, scrubConfigSecrets, type GatewayConfig } from '#libs/config';
import { DatabaseUnavailableError, migrateDatabase } from '#libs/persistence';
import { RedisUnavailableError, checkRedis } from '#libs/redis';
import { ProcessModule, type SharedState } from './process.module.js';

/**
 * Checks the dependencies before any module starts: creates and migrates the database, pings
 * Redis and reads its persistence settings. A process that produces audit records into the queue
 * (`producesAuditRecords`, the default: the gateway, `apps/admin`) refuses, in production, a Redis
 * that would lose the queue on a restart unless `AUDIT_ALLOW_VOLATILE_REDIS=true`; the audit worker
 * only consumes it and starts anyway (refusing would leave the records longer in that Redis).
 * Each failure is an error that {@link describeStartupError} turns into one line.
 */
export async function preflight(
  config: GatewayConfig,
  options: { producesAuditRecords?: boolean } = {},
): Promise<{ databaseCreated: boolean; applied: string[] }> {
  const report = await migrateDatabase(config.databaseUrl);
  const persistence = await checkRedis(config.redis.topology);
  if (options.producesAuditRecords ?? true) assertAuditQueueDurable(persistence, config);
  return report;
}

/** How {@link listen} builds and binds one plane's application. */
export interface ListenOptions {
  host: string;
  port: number;
  bodyLimit: number;
  httpsOptions?: HttpsOptions;
  /** Metrics and readiness of another application of this process. */
  shared?: SharedState;
  /** Adjusts the application before it listens (the WebSocket adapter). */
  configure?: (app: NestExpressApplication) => void;
  /** The variable named when the port is taken. */
  portVariable?: string;
  /** Host the audit writer in this application. */
  auditWriter?: boolean;
}

/** A Nest application for one plane, listening on `host:port`; resolves to it and its bound port. */
export async function listen(
  plane: Type | DynamicModule,
  config: GatewayConfig,
  options: ListenOptions,
  logger: LoggerService,
): Promise<{ app: NestExpressApplication; port: number }> {
  const app = await NestFactory.create<NestExpressApplication>(
    ProcessModule.forRoot(config, plane, options.shared, { auditWriter: options.auditWriter ?? false }),
    {
      logger,
      abortOnError: false,
      forceCloseConnections: true,
      ...(options.httpsOptions && { httpsOptions: options.httpsOptions }),
    },
  );
  app.useBodyParser('json', { limit: options.bodyLimit });
  app.disable('x-powered-by');
  options.configure?.(app);
  return { app, port: await bind(app, options.host, options.port, options.portVariable) };
}

/** Listens, turning "address in use" into a {@link StartupError} naming the variable. */
export async function bind(app: INestApplication, host: string, port: number, variable = 'PORT'): Promise<number> {
  try {
    await app.listen(port, host);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(`${host}:${port} is already in use (${variable})`, `stop the other process or set ${variable}`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new StartupError(`cannot listen on ${host}:${port} (${code})`, `check ${variable} and its host variable`);
    throw error;
  }
  return ((app.getHttpServer() as Server).address() as AddressInfo).port;
}

/** A start-up failure with a hint for the operator. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * One clear line (a few for configuration) for a failure at start: what, where, how to fix it.
 * Whatever the message quotes (a driver's error included), the secrets of `env` are masked.
 */
export function describeStartupError(error: unknown, env: NodeJS.ProcessEnv): string {
  return scrubConfigSecrets(startupLine(error), env);
}

function startupLine(error: unknown): string {
  if (error instanceof ConfigError) return `agent-gateway: ${error.message}`;
  if (
    error instanceof DatabaseUnavailableError ||
    error instanceof RedisUnavailableError ||
    error instanceof RedisNotDurableError ||
    error instanceof StartupError
  )
    return `agent-gateway: ${error.message}: ${error.hint}`;
  return `agent-gateway: failed to start: ${(error as Error)?.message ?? String(error)}`;
}
