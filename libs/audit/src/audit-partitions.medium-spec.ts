import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { PrismaService, loadMigrations, migrateDatabase } from '#libs/persistence';
import { privateDatabaseUrl, uniqueId, uniquePrefix } from '../../../test/support/env.js';
import { startTestRedis } from '../../../test/support/redis-server.js';
import { DEFAULT_PARTITION, wantedPartitions } from './audit-partitions.js';
import { parseRecordLine, recordLine, toRecord, type AuditRecord } from './audit-record.js';
import { AuditWriterService } from './audit-writer.service.js';
import { AuditRepository } from './audit.repository.js';
import { VerifyAuditChains } from './verify-audit-chains.js';

/** Writes records as the writer gets them: as their lines. */
const writeRecords = (repository: AuditRepository, records: AuditRecord[]) =>
  repository.writeBatch(records.map((r) => parseRecordLine(recordLine(r))));

// Real: migration 0007 (by the production migrator) on a database of this file's own, the
// repository's partition upkeep, its COPY into the partitioned table, retention by dropping
// partitions, and the chain check over what remains; the writer's upkeep at start in a node.
// Faked: the clock of upkeep and retention (each takes its date), so ranges in 2001 stand for months
// long past; nothing else.
const DATABASE_URL = privateDatabaseUrl('partitions');
const MIGRATION_URL = privateDatabaseUrl('partitions_migration');

/** Drops the database of `url` if it exists (its tests start from nothing). */
async function dropDatabase(url: string): Promise<void> {
  const maintenance = new URL(url);
  const name = maintenance.pathname.slice(1);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

const recordAt = (iso: string, tenant: string, n: number): AuditRecord => ({
  ...toRecord(
    {
      action: 'message.routed',
      tenant_id: tenant,
      actor: { type: 'agent', id: 'a' },
      subject: 'b',
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: null,
      details: { n },
    },
    'medium-node',
    false,
  ),
  timestamp: iso,
});

describe('migration 0007 on a database with records', () => {
  it('moves every row, unchanged, into the partition of its month; the chains still verify', async () => {
    await dropDatabase(MIGRATION_URL);
    const all = await loadMigrations();
    const before = all.filter((m) => m.id < '0007');
    expect(all.map((m) => m.id)).toContain('0007_audit_partitions');
    await migrateDatabase(MIGRATION_URL, before);
    const prisma = new PrismaService(loadConfig({ DATABASE_URL: MIGRATION_URL, DATABASE_POOL_SIZE: '2' }, '0'));
    const db = new pg.Client({ connectionString: MIGRATION_URL });
    await db.connect();
    try {
      const repository = new AuditRepository(prisma);
      // Written by the writer into the table of 0004 (not partitioned): three months, two chains.
      await writeRecords(repository, [
        recordAt('2025-10-31T23:59:59.999Z', 'm-a', 1),
        recordAt('2025-11-01T00:00:00.000Z', 'm-a', 2),
        recordAt('2025-12-15T12:00:00.000Z', 'm-b', 3),
      ]);
      await writeRecords(repository, [recordAt('2025-11-20T00:00:00.000Z', 'm-a', 4), recordAt(new Date().toISOString(), 'm-b', 5)]);
      const snapshot =
        'SELECT id::text, seq, chain_key, "timestamp", details, prev_hash, hash, written_at FROM audit_records ORDER BY chain_key, seq';
      const old = (await db.query(snapshot)).rows;
      expect(old).toHaveLength(5);

      expect((await migrateDatabase(MIGRATION_URL)).applied).toEqual(['0007_audit_partitions']);
      expect((await db.query(snapshot)).rows).toEqual(old);
      const placed = await db.query<{ n: number; partition: string }>(
        `SELECT (details->>'n')::int AS n, tableoid::regclass::text AS partition FROM audit_records ORDER BY 1`,
      );
      const month = new Date().toISOString().slice(0, 7).replace('-', '');
      expect(placed.rows).toEqual([
        { n: 1, partition: 'audit_records_p20251001' },
        { n: 2, partition: 'audit_records_p20251101' },
        { n: 3, partition: 'audit_records_p20251201' },
        { n: 4, partition: 'audit_records_p20251101' },
        { n: 5, partition: `audit_records_p${month}01` },
      ]);
      expect(await new VerifyAuditChains(repository).execute({ limit: 100 })).toEqual({
        ok: true,
        checked: 5,
        complete: true,
        next_cursor: null,
      });
      // The chains go on in the partitioned table.
      expect((await writeRecords(repository, [recordAt(new Date().toISOString(), 'm-a', 6)])).map((r) => r.seq)).toEqual([4]);
    } finally {
      await db.end();
      await prisma.onApplicationShutdown();
    }
  });
});

describe('audit_records in time partitions', () => {
  let prisma: PrismaService;
  let repository: AuditRepository;
  let verify: VerifyAuditChains;
  let db: pg.Pool;

  beforeAll(async () => {
    // A fresh database each run: the test's ranges (2001, 1990) must start without partitions.
    await dropDatabase(DATABASE_URL);
    await migrateDatabase(DATABASE_URL);
    prisma = new PrismaService(loadConfig({ DATABASE_URL, DATABASE_POOL_SIZE: '2' }, '0'));
    repository = new AuditRepository(prisma);
    verify = new VerifyAuditChains(repository);
    db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    await prisma?.onApplicationShutdown();
    await db?.end();
  });

  const at = recordAt;

  /** Where each record of the tenant is, in chain order. */
  const placed = async (tenant: string): Promise<{ seq: number; partition: string }[]> =>
    (
      await db.query<{ seq: string; partition: string }>(
        'SELECT seq, tableoid::regclass::text AS partition FROM audit_records WHERE chain_key = $1 ORDER BY seq',
        [tenant],
      )
    ).rows.map((r) => ({ seq: Number(r.seq), partition: r.partition }));

  const partitionNames = async (): Promise<string[]> => (await repository.partitions()).map((p) => p.name);

  it('migration 0007: a partitioned table with a default partition, and the current month and three ahead', async () => {
    const { rows } = await db.query<{ kind: string }>(`SELECT relkind AS kind FROM pg_class WHERE oid = 'audit_records'::regclass`);
    expect(rows[0]?.kind).toBe('p');
    const names = await partitionNames();
    expect(names).toContain(DEFAULT_PARTITION);
    for (const p of wantedPartitions(new Date(), 'month', 3)) expect(names).toContain(p.name);
  });

  it('creates partitions ahead, idempotently, and moves records the default partition took meanwhile', async () => {
    const tenant = uniqueId('ahead');
    // No partition for June 2001 yet: the record goes to the default one, the insert does not fail.
    await writeRecords(repository, [at('2001-06-10T12:00:00.000Z', tenant, 1)]);
    expect(await placed(tenant)).toEqual([{ seq: 1, partition: DEFAULT_PARTITION }]);

    const wanted = wantedPartitions(new Date('2001-05-20T08:00:00Z'), 'month', 2);
    expect(wanted.map((w) => w.name)).toEqual(['audit_records_p20010501', 'audit_records_p20010601', 'audit_records_p20010701']);
    expect(await repository.ensurePartitions(wanted)).toEqual({ created: wanted.map((w) => w.name), moved: 1, busy: false });
    expect(await placed(tenant)).toEqual([{ seq: 1, partition: 'audit_records_p20010601' }]);
    // Again: nothing to do.
    expect(await repository.ensurePartitions(wanted)).toEqual({ created: [], moved: 0, busy: false });
    // Day partitions after month ones: only the days no month covers are created.
    const days = wantedPartitions(new Date('2001-07-30T00:00:00Z'), 'day', 3);
    expect((await repository.ensurePartitions(days)).created).toEqual(['audit_records_p20010801', 'audit_records_p20010802']);
    const bounds = (await repository.partitions()).find((p) => p.name === 'audit_records_p20010801');
    expect(bounds).toEqual({
      name: 'audit_records_p20010801',
      from: new Date('2001-08-01T00:00:00Z'),
      to: new Date('2001-08-02T00:00:00Z'),
    });
  });

  it('records land in the partition of their timestamp across a boundary; retention drops the old partition (no DELETE there) and verify holds', async () => {
    const tenant = uniqueId('boundary');
    await repository.ensurePartitions(wantedPartitions(new Date('2001-01-15T00:00:00Z'), 'month', 2));
    // In chain order: two in January, one at the first instant of February, then a record written
    // late (timestamp in January, sequence after February's), then February and March.
    const batch = [
      at('2001-01-20T10:00:00.000Z', tenant, 1),
      at('2001-01-31T23:59:59.999Z', tenant, 2),
      at('2001-02-01T00:00:00.000Z', tenant, 3),
      at('2001-01-31T23:59:59.998Z', tenant, 4),
      at('2001-02-10T00:00:00.000Z', tenant, 5),
      at('2001-03-01T00:00:00.000Z', tenant, 6),
    ];
    // Two transactions, so the chain crosses the boundary between batches as well as inside one.
    await writeRecords(repository, batch.slice(0, 3));
    await writeRecords(repository, batch.slice(3));
    expect(await placed(tenant)).toEqual([
      { seq: 1, partition: 'audit_records_p20010101' },
      { seq: 2, partition: 'audit_records_p20010101' },
      { seq: 3, partition: 'audit_records_p20010201' },
      { seq: 4, partition: 'audit_records_p20010101' },
      { seq: 5, partition: 'audit_records_p20010201' },
      { seq: 6, partition: 'audit_records_p20010301' },
    ]);
    // A retried batch (its first commit went through) is still written exactly once, wherever its rows are.
    expect(await writeRecords(repository, batch)).toEqual([]);
    expect(await placed(tenant)).toHaveLength(6);
    expect(await verify.execute({ tenantId: tenant, limit: 100 })).toEqual({ ok: true, checked: 6, complete: true, next_cursor: null });

    const { rows: before } = await db.query<{ oid: string }>(`SELECT 'audit_records_p20010201'::regclass::oid::text AS oid`);
    // Retention at 15 February: January is past whole, February is not.
    const report = await repository.purgeBefore(new Date('2001-02-15T00:00:00Z'));
    expect(report.busy).toBe(false);
    expect(report.dropped.map((d) => d.name)).toContain('audit_records_p20010101');
    expect(report.dropped.map((d) => d.name)).not.toContain('audit_records_p20010201');
    // Dropped, not emptied: the partition is gone from the catalog.
    expect(await partitionNames()).not.toContain('audit_records_p20010101');
    expect((await db.query(`SELECT to_regclass('audit_records_p20010101') AS t`)).rows[0]).toEqual({ t: null });
    // The chain is cut after seq 4 (the last record of January by sequence): seq 3, in February,
    // goes too (deleted, the one row deleted), so what remains is contiguous from the anchor.
    expect(report.deleted).toBe(1);
    expect(await placed(tenant)).toEqual([
      { seq: 5, partition: 'audit_records_p20010201' },
      { seq: 6, partition: 'audit_records_p20010301' },
    ]);
    const anchor = await db.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_chain_anchors WHERE chain_key = $1', [
      tenant,
    ]);
    expect(anchor.rows).toEqual([{ seq: '4', hash: expect.any(String) }]);
    // February's partition is the same table as before (not rewritten).
    const { rows: after } = await db.query<{ oid: string }>(`SELECT 'audit_records_p20010201'::regclass::oid::text AS oid`);
    expect(after).toEqual(before);
    expect(await verify.execute({ tenantId: tenant, limit: 100 })).toEqual({ ok: true, checked: 2, complete: true, next_cursor: null });
    // The chain goes on after the drop.
    await writeRecords(repository, [at('2001-03-02T00:00:00.000Z', tenant, 7)]);
    expect(await verify.execute({ tenantId: tenant, limit: 100 })).toEqual({ ok: true, checked: 3, complete: true, next_cursor: null });
    // Tampering after the drop is still caught: the record after the anchor removed.
    await db.query('DELETE FROM audit_records WHERE chain_key = $1 AND seq = 5', [tenant]);
    expect(await verify.execute({ tenantId: tenant, limit: 100 })).toMatchObject({
      ok: false,
      problem: 'missing_records',
      first_bad_seq: 5,
    });
  });

  it('retention deletes records of the default partition older than the cutoff, anchored the same way', async () => {
    const tenant = uniqueId('stray');
    // 1990: older than every partition, into the default one.
    await writeRecords(repository, [at('1990-01-01T00:00:00.000Z', tenant, 1), at('1990-01-02T00:00:00.000Z', tenant, 2)]);
    await writeRecords(repository, [at('1990-03-01T00:00:00.000Z', tenant, 3)]);
    expect((await placed(tenant)).map((p) => p.partition)).toEqual([DEFAULT_PARTITION, DEFAULT_PARTITION, DEFAULT_PARTITION]);
    const report = await repository.purgeBefore(new Date('1990-02-01T00:00:00Z'));
    expect(report).toEqual({ deleted: 2, dropped: [], busy: false });
    expect(await placed(tenant)).toEqual([{ seq: 3, partition: DEFAULT_PARTITION }]);
    expect(await verify.execute({ tenantId: tenant, limit: 10 })).toEqual({ ok: true, checked: 1, complete: true, next_cursor: null });
  });

  it('the writer creates the partitions ahead when it starts, before it takes a job (AUDIT_PARTITIONS_AHEAD)', async () => {
    const redis = await startTestRedis();
    const config = loadConfig(
      { DATABASE_URL, REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix(), NODE_ID: 'medium-node', AUDIT_PARTITIONS_AHEAD: '6' },
      '0',
    );
    const writer = new AuditWriterService(config, repository, new MetricsService());
    try {
      const wanted = wantedPartitions(new Date(), 'month', 6);
      // The migration made the current month and three ahead; the writer adds the other three.
      const before = await partitionNames();
      expect(wanted.filter((w) => !before.includes(w.name)).length).toBeGreaterThanOrEqual(3);
      await writer.onModuleInit();
      const names = await partitionNames();
      for (const w of wanted) expect(names).toContain(w.name);
    } finally {
      await writer.onApplicationShutdown();
      await redis.destroy();
    }
  });
});
