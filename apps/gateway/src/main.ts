import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { describeStartupError } from '#libs/platform';
import { bootstrap } from './bootstrap.js';

// SIGTERM must end the process within 10 s (contract §1); the drain is bounded well below that.
const SHUTDOWN_DEADLINE_MS = 9_500;

async function main(): Promise<void> {
  let gateway;
  try {
    gateway = await bootstrap(process.env);
  } catch (error) {
    process.stderr.write(`${describeStartupError(error, process.env)}\n`);
    process.exit(1);
  }
  const stop = (signal: string): void => {
    const deadline = setTimeout(() => {
      new Logger('Shutdown').error(`still stopping after ${SHUTDOWN_DEADLINE_MS} ms (${signal}); exiting`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    gateway.shutdown().then(
      () => process.exit(0),
      (error: Error) => {
        new Logger('Shutdown').error(`shutdown failed: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// A bug must not take every agent's connection down with it: log loudly and keep serving.
process.on('unhandledRejection', (reason) => {
  new Logger('Process').error(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
});

void main();
