import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, readVersion } from '#libs/config';
import { GatewayLogger, ProcessModule, describeStartupError, preflight, startProcessTracing } from '#libs/platform';

/** Nothing but what ProcessModule brings: configuration, Postgres, Redis and the audit writer. */
@Module({})
class AuditWorkerModule {}

/**
 * The audit writer as its own process, for larger deployments: run the gateway nodes with
 * `AUDIT_WORKER=false` and as many of these as Postgres likes (batches are written one transaction
 * each; chains are locked per tenant, so writers do not conflict).
 */
async function main(): Promise<void> {
  try {
    const config = loadConfig(process.env, readVersion());
    const logger = new GatewayLogger(config.log);
    Logger.overrideLogger(logger);
    await startProcessTracing(config);
    // The worker consumes the queue and produces no records: a volatile Redis is logged, not refused.
    await preflight(config, { producesAuditRecords: false });
    const app = await NestFactory.createApplicationContext(
      ProcessModule.forRoot(config, AuditWorkerModule, undefined, { auditWriter: true }),
      { logger, abortOnError: false },
    );
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
    new Logger('Bootstrap').log({ event: 'ready', node_id: config.nodeId, version: config.version, role: 'audit-worker' });
  } catch (error) {
    process.stderr.write(`${describeStartupError(error, process.env)}\n`);
    process.exit(1);
  }
}

void main();
