import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { GatewayError } from '#libs/protocol';
import { SLOTS_REFRESH_INTERVAL_MS } from '#libs/redis';

const logger = new Logger('Directory');

/**
 * How long a failed directory read waits before each retry. A Redis Cluster client that has not
 * yet re-learnt the slots after a failover fails its first command to a moved slot while the
 * slot map refreshes, and auto-pipelined reads of several moved slots fail until the next
 * periodic refresh of the map (`SLOTS_REFRESH_INTERVAL_MS`, 1 s): the second retry comes after it.
 */
export const DIRECTORY_RETRY_MS: readonly number[] = [300, SLOTS_REFRESH_INTERVAL_MS];

/**
 * A read of the agent directory (presence, node liveness: idempotent), tried again after each of
 * `retryMs` when it fails; UNAVAILABLE when the last retry fails too (Redis really is down). A
 * GatewayError is the read's own answer and is not retried.
 */
export async function directoryRead<T>(read: () => Promise<T>, retryMs: readonly number[] = DIRECTORY_RETRY_MS): Promise<T> {
  const failures: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      failures.push(messageOf(error));
      const wait = retryMs[attempt];
      if (wait === undefined) {
        logger.warn(
          `agent directory read failed ${failures.length} times (retried after ${retryMs.join(', ')} ms), answering UNAVAILABLE: ${failures.join('; ')}`,
        );
        throw new GatewayError('UNAVAILABLE', 'agent directory unavailable', { cause: error });
      }
      await sleep(wait);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
