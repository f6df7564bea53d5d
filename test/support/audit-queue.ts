import { Queue } from 'bullmq';
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
 * The positive barrier for "nothing more will be written": waits until the audit queue of `prefix`
 * holds no batch (waiting, delayed after a failed write, or in a writer's transaction). A node
 * sends its records to the queue in the order it made them, so once a record made after some
 * others is in Postgres and the queue is empty, those others are written too, if they exist.
 */
export function auditQueueDrained(prefix: string, timeoutMs = 60_000): Promise<void> {
  return waitFor(
    async () => {
      const counts = await withAuditQueue(prefix, (queue) => queue.getJobCounts('wait', 'active', 'delayed', 'prioritized'));
      return Object.values(counts).every((n) => n === 0);
    },
    timeoutMs,
    'the audit queue to drain',
  );
}
