import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { routedEvent } from '../../../test/support/audit-events.js';
import { TEST_REDIS_URL, uniquePrefix } from '../../../test/support/env.js';
import { recordLine, toRecord } from './audit-record.js';
import { AuditStagingRepository, LEGACY_STAGING_NAMESPACE } from './audit-staging.repository.js';

const record = (id: string) => toRecord(routedEvent({ details: { message_id: id } }), 'node-1', false);

describe('AuditStagingRepository', () => {
  const redis = new Redis(TEST_REDIS_URL);
  afterAll(() => redis.disconnect());

  it("gives a writer the lines of a dead producer's stream, then forgets the producer", async () => {
    const prefix = uniquePrefix();
    const staging = new AuditStagingRepository(redis, prefix);
    const [first, second, third] = [record('m1'), record('m2'), record('m3')];
    await staging.renew('dead.0001');
    expect(await redis.exists(`${prefix}audit:lines:{dead.0001}:alive`)).toBe(1);
    await staging.stage('dead.0001', 1, recordLine(first));
    await staging.stage('dead.0001', 2, [recordLine(second), recordLine(third)].join('\n'));
    await redis.del(`${prefix}audit:lines:{dead.0001}:alive`);

    expect(await staging.orphans()).toEqual(['dead.0001']);
    expect(await staging.claim('dead.0001', 'writer-1')).toBe(true);
    expect(await staging.claim('dead.0001', 'writer-2')).toBe(false);
    const entries = await staging.sweptEntries('dead.0001', 10);
    expect(entries.map((e) => e.lines)).toEqual([[recordLine(first)], [recordLine(second), recordLine(third)]]);
    await staging.dropSwept('dead.0001', entries[1]!.id);
    expect(await staging.sweptEntries('dead.0001', 10)).toEqual([]);
    await staging.finishSweep('dead.0001');
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it("sweeps the previous release's staging streams (record objects, field r) as lines, apart from the lines' namespace", async () => {
    const prefix = uniquePrefix();
    const legacy = new AuditStagingRepository(redis, prefix, LEGACY_STAGING_NAMESPACE);
    const current = new AuditStagingRepository(redis, prefix);
    const old = record('m-old');
    // As a producer of the previous release staged: its registry and stream, field `r`, no lease.
    await redis.sadd(`${prefix}audit:staging`, 'old.0001');
    await redis.xadd(`${prefix}audit:staging:{old.0001}`, '0-1', 'r', JSON.stringify([old]));

    expect(await current.orphans()).toEqual([]);
    expect(await legacy.orphans()).toEqual(['old.0001']);
    expect(await legacy.claim('old.0001', 'writer-1')).toBe(true);
    expect((await legacy.sweptEntries('old.0001', 10)).map((e) => e.lines)).toEqual([[recordLine(old)]]);
    await legacy.finishSweep('old.0001');
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });
});
