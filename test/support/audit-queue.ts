import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AUDIT_QUEUE, bullPrefix, type AuditBatchJob } from '#libs/audit';
import { waitFor } from './agents.js';
import { TEST_REDIS_URL } from './env.js';

/** Reads the audit queue of the gateways on Redis key prefix `prefix`, as BullMQ keeps it. */
export async function withAuditQueue<T>(prefix: string, read: (queue: Queue<AuditBatchJob>) => Promise<T>): Promise<T> {
  const queue = new Queue<AuditBatchJob>(AUDIT_QUEUE, { connection: { url: TEST_REDIS_URL }, prefix: bullPrefix(prefix) });
  try {
    return await read(queue);
  } finally {
    await queue.close();
  }
}

/**
 * Entries in the audit staging streams of the producers registered on key prefix `prefix` (each
 * holds the records of one flush; see `AuditStagingRepository`), a dead producer's being swept included.
 */
export async function stagedEntries(redis: Redis, prefix: string): Promise<number> {
  let entries = 0;
  // The lines' namespace, and the previous release's (a writer still sweeps it).
  for (const namespace of ['audit:lines', 'audit:staging'])
    for (const instance of await redis.smembers(`${prefix}${namespace}`))
      for (const key of [`${prefix}${namespace}:{${instance}}`, `${prefix}${namespace}:{${instance}}:swept`])
        entries += await redis.xlen(key);
  return entries;
}

/**
 * The positive barrier for "nothing more will be written": waits until no record of `prefix` is
 * staged and then the audit queue holds no batch (waiting, delayed after a failed write, or in a
 * writer's transaction), in that order. A node stages its records and sends them to the queue in the order it
 * made them, so once a record made after some others is in Postgres and nothing is staged or
 * queued, those others are written too, if they exist.
 */
export async function auditQueueDrained(prefix: string, timeoutMs = 60_000): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await waitFor(
      async () => {
        // Staging first: records move from a stream into jobs (added before the stream is
        // trimmed), so staging empty and then no job means none is left; jobs first could miss
        // records queued between the two reads.
        if ((await stagedEntries(redis, prefix)) > 0) return false;
        const counts = await withAuditQueue(prefix, (queue) => queue.getJobCounts('wait', 'active', 'delayed', 'prioritized'));
        return Object.values(counts).every((n) => n === 0);
      },
      timeoutMs,
      'the audit queue to drain',
    );
  } finally {
    redis.disconnect();
  }
}
