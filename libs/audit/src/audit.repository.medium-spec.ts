import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { PrismaService } from '#libs/persistence';
import { mediumDatabase } from '../../../test/support/medium.js';
import { GENESIS_HASH, chainHash, parseRecordLine, recordLine, toRecord, type AuditRecord } from './audit-record.js';
import { AuditRepository } from './audit.repository.js';

/** Writes records as the writer gets them: as their lines. */
const writeRecords = (repository: AuditRepository, records: AuditRecord[]) =>
  repository.writeBatch(records.map((r) => parseRecordLine(recordLine(r))));

// Real: AuditRepository on the medium tests' Postgres (migrated by the production migrator), its
// COPY of a batch and the retry of a batch whose first commit went through. Faked: nothing.
describe('AuditRepository.writeBatch', () => {
  let prisma: PrismaService;
  let repository: AuditRepository;
  let db: pg.Pool;

  beforeAll(async () => {
    const url = await mediumDatabase();
    prisma = new PrismaService(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '2' }, '0'));
    repository = new AuditRepository(prisma);
    db = new pg.Pool({ connectionString: url, max: 1 });
  });

  afterAll(async () => {
    await prisma?.onApplicationShutdown();
    await db?.end();
  });

  const record = (tenant: string, details: Record<string, unknown>): AuditRecord =>
    toRecord(
      {
        action: 'message.routed',
        tenant_id: tenant,
        actor: { type: 'agent', id: 'a "quoted", agent\twith a tab' },
        subject: 'line\nbreak\r\\N \\ end',
        outcome: 'allowed',
        reason: null,
        session_id: null,
        remote_addr: '127.0.0.1',
        details,
      },
      'medium-node',
      false,
    );

  it('writes a batch in chain order with every field as it was (quotes, commas, tabs, newlines, backslashes, unicode, nulls)', async () => {
    const tenant = `repo-${Date.now()}`;
    const batch = [
      record(tenant, { text: 'say "hi", then\nleave', emoji: '🙂', nested: { a: [1, null, 'x,y'] } }),
      record(tenant, { backslash: 'C:\\path\\"x"', empty: '' }),
      record(tenant, {}),
    ];
    const written = await writeRecords(repository, batch);
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(written[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < written.length; i++) expect(written[i]!.prev_hash).toBe(written[i - 1]!.hash);
    expect(written[0]!.hash).toBe(chainHash(GENESIS_HASH, batch[0]!, 1));
    const { rows } = await db.query<{
      id: string;
      actor_id: string;
      subject: string;
      reason: string | null;
      details: unknown;
      hash: string;
    }>('SELECT id::text AS id, actor_id, subject, reason, details, hash FROM audit_records WHERE tenant_id = $1 ORDER BY seq', [tenant]);
    expect(rows.map((r) => r.id)).toEqual(batch.map((r) => r.id));
    expect(rows.map((r) => r.details)).toEqual(batch.map((r) => r.details));
    expect(rows[0]).toMatchObject({
      actor_id: 'a "quoted", agent\twith a tab',
      subject: 'line\nbreak\r\\N \\ end',
      reason: null,
      hash: written[0]!.hash,
    });
  });

  it('a batch written again (its first commit went through) writes only what is new, and the chain goes on', async () => {
    const tenant = `repo-retry-${Date.now()}`;
    const first = [record(tenant, { n: 1 }), record(tenant, { n: 2 })];
    const done = await writeRecords(repository, first);
    const again = [...first, record(tenant, { n: 3 })];
    const retried = await writeRecords(repository, again);
    expect(retried.map((r) => [r.id, r.seq])).toEqual([[again[2]!.id, 3]]);
    expect(retried[0]!.prev_hash).toBe(done[1]!.hash);
    expect(await writeRecords(repository, again)).toEqual([]);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_records WHERE tenant_id = $1', [tenant]);
    expect(Number(rows[0]!.n)).toBe(3);
  });
});
