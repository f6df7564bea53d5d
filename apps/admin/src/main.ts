import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AdminModule, configureAdminPlane } from '#libs/admin';
import { loadConfig, readVersion } from '#libs/config';
import { GatewayLogger, describeStartupError, listen, preflight, startProcessTracing } from '#libs/platform';

/**
 * The admin plane as its own process, for deployments that keep it off the agent nodes
 * (run the gateway with `ADMIN_ENABLED=false`). Same configuration as the gateway.
 */
async function main(): Promise<void> {
  try {
    const config = loadConfig(process.env, readVersion());
    const logger = new GatewayLogger(config.log);
    Logger.overrideLogger(logger);
    await startProcessTracing(config);
    await preflight(config);
    const admin = await listen(
      AdminModule.forRoot(config),
      config,
      {
        host: config.adminPlane.host,
        port: config.adminPlane.port,
        bodyLimit: 1024 * 1024,
        portVariable: 'ADMIN_PORT',
        configure: configureAdminPlane(config),
      },
      logger,
    );
    new Logger('Bootstrap').log({ event: 'ready', node_id: config.nodeId, version: config.version, admin_port: admin.port });
    const stop = (): void => void admin.app.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } catch (error) {
    process.stderr.write(`${describeStartupError(error, process.env)}\n`);
    process.exit(1);
  }
}

void main();
