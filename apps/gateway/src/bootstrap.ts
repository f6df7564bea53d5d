import { Logger, type INestApplication } from '@nestjs/common';
import { loadConfig, readVersion, type GatewayConfig } from '#libs/config';
import { GatewayLogger, listen, preflight, sharedStateOf, startProcessTracing } from '#libs/platform';
import { SessionDrain } from '#libs/routing';
import { AgentPlaneModule } from './agent-plane.module.js';
import { GatewayIoAdapter } from './socket/socket-io.adapter.js';
import { tlsOptions } from './tls/tls-options.js';

/** A started gateway process: its listeners and how to stop it. */
export interface RunningGateway {
  config: GatewayConfig;
  agentPort: number;
  adminPort: number | null;
  /** The drain of contract §1: stop accepting, tell agents, flush, close. */
  shutdown(): Promise<void>;
}

/**
 * Starts a gateway process from an environment: configuration validated, Postgres created and
 * migrated, Redis checked, then the agent plane and (unless `ADMIN_ENABLED=false`) the admin plane.
 * `main.ts` calls this; so do the end-to-end tests, through the compiled entry point.
 */
export async function bootstrap(env: NodeJS.ProcessEnv): Promise<RunningGateway> {
  const config = loadConfig(env, readVersion());
  const logger = new GatewayLogger(config.log);
  Logger.overrideLogger(logger);
  const log = new Logger('Bootstrap');
  await startProcessTracing(config);

  const migrations = await preflight(config);
  if (migrations.databaseCreated) log.log('created the database');
  if (migrations.applied.length > 0) log.log(`applied migrations: ${migrations.applied.join(', ')}`);

  const httpsOptions = config.tls ? tlsOptions(config.tls) : undefined;
  const agent = await listen(
    AgentPlaneModule.forRoot(config),
    config,
    {
      host: config.agentPlane.host,
      port: config.agentPlane.port,
      bodyLimit: config.agentPlane.maxMessageBytes,
      ...(httpsOptions && { httpsOptions }),
      configure: (app) => app.useWebSocketAdapter(new GatewayIoAdapter(app, config)),
      auditWriter: config.audit.worker,
    },
    logger,
  );
  let admin: { app: INestApplication; port: number } | null = null;
  if (config.adminPlane.enabled) {
    // Loaded only here: a node with ADMIN_ENABLED=false never loads the admin plane (OpenAPI, SSO, console).
    const { AdminModule, configureAdminPlane } = await import('#libs/admin');
    // One process, one pg pool: the admin plane runs on the agent plane's Prisma client (and its metrics and readiness).
    const shared = sharedStateOf(agent.app);
    admin = await listen(
      AdminModule.forRoot(config, { routesAgents: true }),
      config,
      {
        host: config.adminPlane.host,
        port: config.adminPlane.port,
        bodyLimit: 1024 * 1024,
        shared,
        portVariable: 'ADMIN_PORT',
        configure: configureAdminPlane(config),
      },
      logger,
    );
  }
  log.log({
    event: 'ready',
    node_id: config.nodeId,
    version: config.version,
    agent_port: agent.port,
    agent_tls: config.tls !== null,
    admin_port: admin?.port ?? null,
    auth_methods: config.auth.methods,
  });

  let stopping: Promise<void> | null = null;
  return {
    config,
    agentPort: agent.port,
    adminPort: admin?.port ?? null,
    shutdown: () =>
      (stopping ??= (async () => {
        log.log('shutting down');
        await agent.app.get(SessionDrain).drain();
        await admin?.app.close();
        await agent.app.close();
        log.log('stopped');
      })()),
  };
}
