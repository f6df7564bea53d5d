import { ConsoleLogger, Logger, type DynamicModule, type LoggerService, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { loadConfig, type GatewayConfig } from '#libs/config';
import { migrateDatabase } from '#libs/persistence';
import { ProcessModule } from '#libs/platform';
import { AgentCommandDispatcher, SessionAdmission, SessionLifecycle, type Session } from '#libs/routing';
import { privateDatabaseUrl } from './env.js';
import { FakeConnection } from './fake-connection.js';

/**
 * The Postgres database of the medium tests (`<AGW_TEST_DB>_medium`): created and migrated by the
 * first medium test that needs it, by the production migrator. (The e2e global setup drops it with
 * the other private databases before a run.)
 */
export const MEDIUM_DATABASE_URL = privateDatabaseUrl('medium');

let migrated: Promise<unknown> | null = null;

/** Creates and migrates {@link MEDIUM_DATABASE_URL} once per test file; resolves to its URL. */
export async function mediumDatabase(): Promise<string> {
  migrated ??= migrateDatabase(MEDIUM_DATABASE_URL);
  await migrated;
  return MEDIUM_DATABASE_URL;
}

/** One log line a medium test saw. */
export interface LogLine {
  level: string;
  context: string;
  message: string;
}

const lines: LogLine[] = [];
const printer = new ConsoleLogger({ logLevels: ['fatal', 'error', 'warn'] });
const record =
  (level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal') =>
  (message: unknown, ...rest: unknown[]): void => {
    const last = rest[rest.length - 1];
    lines.push({
      level,
      context: typeof last === 'string' ? last : '',
      message: typeof message === 'string' ? message : JSON.stringify(message),
    });
    if (level === 'error' || level === 'warn' || level === 'fatal') printer[level](message, ...rest);
  };
/** Records every line (see {@link capturedLogs}) and prints those from `warn` up. */
export const mediumLogger: LoggerService = {
  log: record('log'),
  error: record('error'),
  warn: record('warn'),
  debug: record('debug'),
  verbose: record('verbose'),
  fatal: record('fatal'),
};

/**
 * Every Nest log line of this test file so far (the nodes of {@link startMediumNode} log through it),
 * so a test can wait for the line a component writes when it does something.
 */
export function capturedLogs(): LogLine[] {
  Logger.overrideLogger(mediumLogger);
  return lines;
}

/** A "node": one process's modules in-process, as `listen()` wires them, without the HTTP listener. */
export interface MediumNode {
  config: GatewayConfig;
  module: TestingModule;
  /** A provider of the node (also ones a library does not export). */
  get<T>(type: Type<T>): T;
  /** Shuts the node's modules down (its timers and Redis and Postgres connections), as a process exit would. */
  close(): Promise<void>;
}

/**
 * Boots `plane(config)` inside the production root module (`ProcessModule`: configuration,
 * Postgres, Redis, observability, the audit producer), with the configuration `loadConfig` makes
 * of `env` over the medium defaults, and runs the lifecycle hooks (`onModuleInit`,
 * `onApplicationBootstrap`) as `listen()` does.
 */
export async function startMediumNode(
  plane: (config: GatewayConfig) => Type | DynamicModule,
  env: Record<string, string>,
): Promise<MediumNode> {
  const config = loadConfig(
    { NODE_ENV: 'test', DATABASE_URL: await mediumDatabase(), DATABASE_POOL_SIZE: '2', LOG_LEVEL: 'warn', ...env },
    '0.0.0-medium',
  );
  const module = await Test.createTestingModule({ imports: [ProcessModule.forRoot(config, plane(config))] })
    .setLogger(mediumLogger)
    .compile();
  await module.init();
  let closed: Promise<void> | null = null;
  return {
    config,
    module,
    get: <T>(type: Type<T>) => module.get(type, { strict: false }),
    close: () => (closed ??= module.close()),
  };
}

/** An agent connected to a routing node through a {@link FakeConnection}. */
export interface MediumAgent {
  session: Session;
  connection: FakeConnection;
  /** Runs a client event through the node's dispatcher (the pipeline every transport calls). */
  call(event: string, payload?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The client goes away: the connection drops and the transport reports it (`detach`). */
  disconnect(): void;
}

/**
 * Connects `agentId` to a node booted with `RoutingModule` and `AUTH_METHODS=none`, the way a
 * transport does: `SessionAdmission.admit` then `SessionLifecycle.activate` with the connection.
 */
export async function connectFake(node: MediumNode, agentId: string, connection = new FakeConnection()): Promise<MediumAgent> {
  const admission = node.get(SessionAdmission);
  const sessions = node.get(SessionLifecycle);
  const dispatcher = node.get(AgentCommandDispatcher);
  const admitted = await admission.admit({ claimedAgentId: agentId, remoteAddress: '127.0.0.1', transport: connection.transport }, {});
  const session = sessions.activate(admitted, connection);
  return {
    session,
    connection,
    call: async (event, payload = {}) =>
      (await dispatcher.dispatch(session.caller, event, payload, Buffer.byteLength(JSON.stringify(payload)))) as unknown as Record<
        string,
        unknown
      >,
    disconnect: () => {
      connection.drop();
      sessions.detach(session);
    },
  };
}
