import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { routedEvent } from '../../../test/support/audit-events.js';
import { TEST_REDIS_URL, uniquePrefix } from '../../../test/support/env.js';
import { AOF_EVERYSEC_REDIS, startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import type { AuditEvent } from './audit-event.js';
import { AUDIT_QUEUE, bullPrefix, jobRecords, type AuditBatchJob } from './audit-queue.js';
import { fromRecordLine } from './audit-record.js';
import { QueueAuditTrail } from './queue-audit-trail.js';

// Real: QueueAuditTrail with its BullMQ queue and Redis connection, a private redis-server that is
// stopped while records come in and started again, the metrics. Faked: nothing (no Nest container;
// the trail is constructed with a configuration from loadConfig, as the module would).
describe('QueueAuditTrail: the in-memory buffer while Redis is down', () => {
  let redis: TestRedis;
  const trails: QueueAuditTrail[] = [];

  beforeAll(async () => {
    // With AOF, so the warm-up record queued before the outage survives the restart (killed with SIGKILL).
    redis = await startTestRedis(AOF_EVERYSEC_REDIS);
  });

  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await Promise.all(trails.map((trail) => trail.onApplicationShutdown()));
    await redis.destroy();
  });

  /**
   * A trail started while Redis is up (as the preflight guarantees), with its own queue prefix,
   * once its first record (`warm-up`) is in Redis: the queue is connected before Redis goes away.
   */
  async function startTrail(env: NodeJS.ProcessEnv): Promise<{ trail: QueueAuditTrail; metrics: MetricsService; prefix: string }> {
    const prefix = `medium-${randomBytes(4).toString('hex')}:`;
    const config = loadConfig({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, NODE_ID: 'medium-node', ...env }, '0');
    const metrics = new MetricsService();
    const trail = new QueueAuditTrail(config, metrics);
    trails.push(trail);
    await trail.onModuleInit();
    await trail.recordDurably(routed('warm-up', 'hello'));
    expect(await queuedMessageIds(prefix, 1)).toEqual(['mwarm-up']);
    return { trail, metrics, prefix };
  }

  const routed = (i: number | string, text: string): AuditEvent => ({
    action: 'message.routed',
    tenant_id: 'acme',
    actor: { type: 'agent', id: 'sender' },
    subject: 'receiver',
    outcome: 'allowed',
    reason: null,
    session_id: null,
    remote_addr: null,
    details: { message_id: `m${i}` },
    content: [{ type: 'text', text }],
  });

  const dropped = async (metrics: MetricsService): Promise<Record<string, number>> =>
    Object.fromEntries((await metrics.auditDropped.get()).values.map((v) => [String(v.labels.reason), v.value]));

  /** The message ids of every record that reached the queue, in order, once `count` have. */
  async function queuedMessageIds(prefix: string, count: number): Promise<string[]> {
    const queue = new Queue<AuditBatchJob>(AUDIT_QUEUE, { connection: { url: redis.url }, prefix: bullPrefix(prefix) });
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const jobs = await queue.getJobs(['wait'], 0, -1, true);
        const ids = jobs
          .sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''))
          .flatMap((job) => jobRecords(job.data).map((record) => String(record.details.message_id)));
        if (ids.length >= count || Date.now() > deadline) return ids;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await queue.close();
    }
  }

  it('holds at most AUDIT_BUFFER_MAX_BYTES of large payloads, drops the rest as "bytes", and queues what it held once Redis is back', async () => {
    const { trail, metrics, prefix } = await startTrail({ AUDIT_PAYLOADS: 'true', AUDIT_BUFFER_MAX_BYTES: String(4 * 1024 * 1024) });
    await redis.stop();
    // 40 records of 256 KiB of content each (10 MiB): the record cap (100,000) is far away.
    const text = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 40; i++) trail.record(routed(i, text));

    // Each counts two bytes per character of its line (256 Ki characters of content and the
    // record around it) + 64: 7 fit in 4 MiB.
    expect(await dropped(metrics)).toEqual({ records: 0, bytes: 33 });

    await redis.start();
    const ids = await queuedMessageIds(prefix, 8);
    expect(ids).toEqual(['mwarm-up', ...Array.from({ length: 7 }, (_, i) => `m${i}`)]);
  });

  it('still holds at most AUDIT_BUFFER_MAX small records, dropping the rest as "records"', async () => {
    const { trail, metrics, prefix } = await startTrail({ AUDIT_BUFFER_MAX: '1000' });
    await redis.stop();
    // The warm-up record left the buffer, so 1,000 more fit.
    for (let i = 0; i < 1500; i++) trail.record(routed(i, 'hello'));

    expect(await dropped(metrics)).toEqual({ records: 500, bytes: 0 });

    await redis.start();
    const ids = await queuedMessageIds(prefix, 1001);
    expect(ids).toEqual(['mwarm-up', ...Array.from({ length: 1000 }, (_, i) => `m${i}`)]);
  });

  it('queues what it was given while Redis was down since before it started (its queue made once Redis is reachable)', async () => {
    await redis.stop();
    const prefix = `medium-${randomBytes(4).toString('hex')}:`;
    const config = loadConfig({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, NODE_ID: 'medium-node' }, '0');
    const trail = new QueueAuditTrail(config, new MetricsService());
    trails.push(trail);
    await trail.onModuleInit();
    for (let i = 0; i < 3; i++) trail.record(routed(i, 'early'));
    await redis.start();
    expect(await queuedMessageIds(prefix, 3)).toEqual(['m0', 'm1', 'm2']);
  });

  it('stages a durable record in its own stream before recordDurably resolves, queues it within AUDIT_JOB_MS, trims the stream, and releases its keys on shutdown', async () => {
    const prefix = `medium-${randomBytes(4).toString('hex')}:`;
    const config = loadConfig({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, NODE_ID: 'medium-node', AUDIT_JOB_MS: '500' }, '0');
    const trail = new QueueAuditTrail(config, new MetricsService());
    await trail.onModuleInit();
    const client = new Redis(redis.url);
    try {
      await waitForValue(() => client.scard(`${prefix}audit:lines`), 1);
      const [instance] = await client.smembers(`${prefix}audit:lines`);
      expect(instance).toMatch(/^medium-node\.[0-9a-f]{8}$/);
      const stream = `${prefix}audit:lines:{${instance}}`;
      expect(await client.pttl(`${stream}:alive`)).toBeGreaterThan(10_000);

      await trail.recordDurably(routed('s1', 'staged'));
      // In Redis when the promise resolves, in the stream and not yet in a job.
      const entries = await client.xrange(stream, '-', '+');
      expect(entries).toHaveLength(1);
      expect(entries[0]![1][0]).toBe('l');
      expect(entries[0]![1][1]!.split('\n').map((line) => fromRecordLine(line).details.message_id)).toEqual(['ms1']);
      expect(await client.llen(`${prefix}bull:audit:wait`)).toBe(0);

      // Then in a job, and the stream trimmed.
      expect(await queuedMessageIds(prefix, 1)).toEqual(['ms1']);
      await waitForValue(() => client.xlen(stream), 0);

      await trail.onApplicationShutdown();
      expect(await client.exists(stream, `${stream}:alive`)).toBe(0);
      expect(await client.sismember(`${prefix}audit:lines`, instance!)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  /** Polls `read` until it gives `value` (10 s at most), then asserts it. */
  async function waitForValue(read: () => Promise<number>, value: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await read()) !== value && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await read()).toBe(value);
  }
});

// Real: QueueAuditTrail with its BullMQ queue, against the test Redis. Faked: nothing.
describe('QueueAuditTrail: provisional records (staged while their event happens)', () => {
  const client = new Redis(TEST_REDIS_URL);
  const trails: QueueAuditTrail[] = [];

  afterAll(async () => {
    await Promise.all(trails.map((trail) => trail.onApplicationShutdown()));
    client.disconnect();
  });

  const routed = (id: string): AuditEvent => routedEvent({ details: { message_id: id }, content: [{ type: 'text', text: id }] });

  /** A started trail (queue jobs every 50 ms) and its staging stream. */
  async function startTrail(): Promise<{ trail: QueueAuditTrail; prefix: string; stream: string }> {
    const prefix = uniquePrefix();
    const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, NODE_ID: 'medium-node', AUDIT_JOB_MS: '50' }, '0');
    const trail = new QueueAuditTrail(config, new MetricsService());
    trails.push(trail);
    await trail.onModuleInit();
    await waitUntil(async () => (await client.scard(`${prefix}audit:lines`)) === 1);
    const [instance] = await client.smembers(`${prefix}audit:lines`);
    return { trail, prefix, stream: `${prefix}audit:lines:{${instance}}` };
  }

  /** The message ids in the queue's waiting jobs, oldest job first. */
  async function queued(prefix: string): Promise<string[]> {
    const queue = new Queue<AuditBatchJob>(AUDIT_QUEUE, { connection: { url: TEST_REDIS_URL }, prefix: bullPrefix(prefix) });
    try {
      const jobs = await queue.getJobs(['wait'], 0, -1, true);
      return jobs
        .sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''))
        .flatMap((job) => jobRecords(job.data).map((record) => String(record.details.message_id)));
    } finally {
      await queue.close();
    }
  }

  /** Each entry of a stream as its field and the message ids (or withdrawn record ids) it holds. */
  async function entries(stream: string): Promise<[string, string[]][]> {
    return (await client.xrange(stream, '-', '+')).map(([, [field, value]]) => [
      field!,
      field === 'l' ? value!.split('\n').map((line) => String(fromRecordLine(line).details.message_id)) : value!.split(','),
    ]);
  }

  it('is in Redis when `durable` resolves, waits out of any job until kept, then is queued and its entry trimmed', async () => {
    const { trail, prefix, stream } = await startTrail();
    const record = trail.recordProvisionally(routed('p1'));
    await record.durable;
    expect(await entries(stream)).toEqual([['l', ['p1']]]);
    // Several job intervals: an open record joins no job.
    await new Promise((r) => setTimeout(r, 300));
    expect(await queued(prefix)).toEqual([]);

    record.keep();
    await waitUntil(async () => (await queued(prefix)).length === 1);
    expect(await queued(prefix)).toEqual(['p1']);
    await waitUntil(async () => (await client.xlen(stream)) === 0);
  });

  it('withdrawn once staged: never queued, named by a withdrawal entry until a trim passes both', async () => {
    const { trail, prefix, stream } = await startTrail();
    const [a, b] = [trail.recordProvisionally(routed('a')), trail.recordProvisionally(routed('b'))];
    await Promise.all([a.durable, b.durable]);
    a.withdraw();
    await waitUntil(async () => (await client.xlen(stream)) === 2);
    const [staged, withdrawal] = await entries(stream);
    expect(staged).toEqual(['l', ['a', 'b']]);
    const lines = (await client.xrange(stream, '-', '+'))[0]![1][1]!.split('\n');
    expect(withdrawal).toEqual(['w', [fromRecordLine(lines[0]!).id]]);

    b.keep();
    await waitUntil(async () => (await queued(prefix)).length === 1);
    expect(await queued(prefix)).toEqual(['b']);
    await waitUntil(async () => (await client.xlen(stream)) === 0);
  });

  it('withdrawn before its XADD: resolves `durable`, stages nothing', async () => {
    const { trail, prefix, stream } = await startTrail();
    const record = trail.recordProvisionally(routed('never'));
    record.withdraw();
    await record.durable;
    await trail.recordDurably(routed('after'));
    expect(await entries(stream)).toEqual([['l', ['after']]]);
    await waitUntil(async () => (await queued(prefix)).length === 1);
    expect(await queued(prefix)).toEqual(['after']);
  });

  it('an open record keeps its own entry in Redis while later entries, queued, are deleted around it', async () => {
    const { trail, prefix, stream } = await startTrail();
    const open = trail.recordProvisionally(routed('open'));
    await open.durable;
    await trail.recordDurably(routed('later-1'));
    await trail.recordDurably(routed('later-2'));
    await waitUntil(async () => (await queued(prefix)).length === 2);
    await waitUntil(async () => (await client.xlen(stream)) === 1);
    expect(await entries(stream)).toEqual([['l', ['open']]]);

    open.keep();
    await waitUntil(async () => (await queued(prefix)).length === 3);
    expect(await queued(prefix)).toEqual(['later-1', 'later-2', 'open']);
    await waitUntil(async () => (await client.xlen(stream)) === 0);
  });

  /** Polls `check` until it holds (10 s at most). */
  async function waitUntil(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});
