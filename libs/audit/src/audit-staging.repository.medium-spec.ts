import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, uniquePrefix } from '../../../test/support/env.js';
import { recordLine, toRecord } from './audit-record.js';
import { AuditStagingRepository } from './audit-staging.repository.js';

const record = (id: string) =>
  toRecord(
    {
      action: 'message.routed',
      tenant_id: 'acme',
      actor: { type: 'agent', id: 'a1' },
      subject: 'a2',
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: null,
      details: { message_id: id },
    },
    'node-1',
    false,
  );

describe('AuditStagingRepository', () => {
  const redis = new Redis(TEST_REDIS_URL);
  afterAll(() => redis.disconnect());

  it("gives a writer the lines of a dead producer's stream, entries staged before lines existed included", async () => {
    const prefix = uniquePrefix();
    const staging = new AuditStagingRepository(redis, prefix);
    const [old, newer, last] = [record('m1'), record('m2'), record('m3')];
    await staging.renew('dead.0001');
    // An entry as a producer of the previous release staged it: field `r`, the JSON records.
    await redis.xadd(`${prefix}audit:staging:{dead.0001}`, '0-1', 'r', JSON.stringify([old]));
    await staging.stage('dead.0001', 2, [recordLine(newer), recordLine(last)].join('\n'));
    await redis.del(`${prefix}audit:staging:{dead.0001}:alive`);

    expect(await staging.orphans()).toEqual(['dead.0001']);
    expect(await staging.claim('dead.0001', 'writer-1')).toBe(true);
    expect(await staging.claim('dead.0001', 'writer-2')).toBe(false);
    const entries = await staging.sweptEntries('dead.0001', 10);
    expect(entries.map((e) => e.lines)).toEqual([[recordLine(old)], [recordLine(newer), recordLine(last)]]);
    await staging.dropSwept('dead.0001', entries[1]!.id);
    expect(await staging.sweptEntries('dead.0001', 10)).toEqual([]);
    await staging.finishSweep('dead.0001');
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });
});
