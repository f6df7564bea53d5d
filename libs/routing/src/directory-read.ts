import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { GatewayError } from '#libs/protocol';

const logger = new Logger('Directory');

/**
 * How long a failed directory read waits before its one retry. A Redis Cluster client that has not
 * yet re-learnt the slots after a failover (its first command to a moved slot fails while the slot
 * map refreshes) answers again within a few hundred milliseconds.
 */
export const DIRECTORY_RETRY_MS = 300;

/**
 * A read of the agent directory (presence, node liveness: idempotent), tried once more after
 * `retryMs` when it fails; UNAVAILABLE when the retry fails too (Redis really is down). A
 * GatewayError is the read's own answer and is not retried.
 */
export async function directoryRead<T>(read: () => Promise<T>, retryMs = DIRECTORY_RETRY_MS): Promise<T> {
  let first: unknown;
  try {
    return await read();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    first = error;
  }
  await sleep(retryMs);
  try {
    return await read();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    logger.warn(
      `agent directory read failed, answering UNAVAILABLE: ${messageOf(first)}; retried after ${retryMs} ms: ${messageOf(error)}`,
    );
    throw new GatewayError('UNAVAILABLE', 'agent directory unavailable', { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
