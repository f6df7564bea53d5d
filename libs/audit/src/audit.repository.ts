import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PrismaService, type Prisma } from '#libs/persistence';
import { DEFAULT_PARTITION, isAuditPartition, overlaps, type PartitionRange } from './audit-partitions.js';
import { GENESIS_HASH, chainHashOfLine, chainKeyOf, type ChainedAuditRecord, type ParsedRecordLine } from './audit-record.js';

/** Filters of the audit reads (contract §7). */
export interface AuditFilter {
  tenantId?: string | undefined;
  agentId?: string | undefined;
  action?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

/** A chain to verify: its head (last `seq` and `hash`) and its anchor (where retention cut it; 0 and genesis if never). */
export interface AuditChain {
  chainKey: string;
  seq: number;
  hash: string;
  anchorSeq: number;
  anchorHash: string;
}

/** Position after which a newest-first page continues. */
export interface AuditCursor {
  timestamp: Date;
  id: string;
}

interface Row {
  id: string;
  seq: bigint;
  chain_key: string;
  tenant_id: string | null;
  timestamp: Date;
  action: string;
  actor_type: string;
  actor_id: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  session_id: string | null;
  remote_addr: string | null;
  node_id: string;
  details: Prisma.JsonValue;
  prev_hash: string;
  hash: string;
  written_at: Date;
}

// A statement of the writer's transaction that takes longer than this fails it (and its jobs are retried).
const WRITE_TIMEOUT_MS = 60_000;

// Bytes per chunk written to COPY (about 250 rows of a `message.routed`).
const COPY_CHUNK_BYTES = 192 * 1024;

/** The columns the writer fills, in the order of its COPY rows. */
const WRITE_COLUMNS =
  'id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id, remote_addr, node_id, details, prev_hash, hash';

// A backslash, newline, carriage return or tab: what COPY's text format escapes in a value.
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field of COPY … (FORMAT text): NULL as `\N`, anything else as it is but for those escapes (most values have none). */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : value;
}

/** A record as a COPY … (FORMAT text) row: fields separated by tabs. */
function copyRow(r: ChainedAuditRecord): string {
  return `${copyField(r.id)}\t${r.seq}\t${copyField(chainKeyOf(r.tenant_id))}\t${copyField(r.tenant_id)}\t${copyField(r.timestamp)}\t${copyField(r.action)}\t${copyField(r.actor.type)}\t${copyField(r.actor.id)}\t${copyField(r.subject)}\t${copyField(r.outcome)}\t${copyField(r.reason)}\t${copyField(r.session_id)}\t${copyField(r.remote_addr)}\t${copyField(r.node_id)}\t${copyField(JSON.stringify(r.details))}\t${r.prev_hash}\t${r.hash}\n`;
}

/**
 * A write that found a record of the batch already there (a retried job whose first commit went
 * through). The table is partitioned: Postgres names the primary key of the partition the row went
 * to (`audit_records_p20261201_pkey`), whose key is (id, timestamp) — a retried record carries the
 * timestamp its producer gave it, so it collides with its first write.
 */
export function isDuplicateId(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown; table?: unknown };
  if (e.code !== '23505' || typeof e.constraint !== 'string') return false;
  if (e.constraint === 'audit_records_pkey') return true;
  return typeof e.table === 'string' && isAuditPartition(e.table) && e.constraint === `${e.table}_pkey`;
}

/** A partition of `audit_records` as the catalog has it; `from`/`to` null for the default one. */
export interface AuditPartition {
  name: string;
  from: Date | null;
  to: Date | null;
}

/** What one retention run did. */
export interface PurgeReport {
  /** Rows deleted one by one: those in the default partition and the few of a kept partition before a chain's cut. */
  deleted: number;
  /** Partitions dropped whole, with the row count the statistics estimated for each. */
  dropped: { name: string; estimatedRows: number }[];
  /** Another node held the maintenance lock: nothing was done. */
  busy: boolean;
}

// pg_advisory_xact_lock key of partition upkeep and retention: one node at a time does either.
const PARTITION_LOCK_KEY = 0x61677732;
// DDL on audit_records waits at most this long for its lock (then gives up and tries again later),
// so a long reader never queues every writer behind a waiting DETACH.
const DDL_LOCK_TIMEOUT = '5s';

/** A UTC instant as an SQL literal (DDL takes no parameters; the text comes from a Date, never from input). */
function timestampLiteral(at: Date): string {
  return `'${at.toISOString()}'`;
}

/** A partition's name as an SQL identifier (only names of the audit_records_p… pattern get here). */
function partitionIdentifier(name: string): string {
  if (!isAuditPartition(name)) throw new Error(`not an audit partition name: ${name}`);
  return `"${name}"`;
}

const COLUMNS =
  'id::text AS id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id, remote_addr, node_id, details, prev_hash, hash, written_at';

/**
 * The audit trail in Postgres. Writes are batches in one transaction each: the chain heads of the
 * batch's tenants are locked in a fixed order (writers on several nodes never deadlock), each
 * record gets the next sequence number and hash of its chain, and all rows go in with one `COPY`.
 * Already-written ids are skipped (a retried job never duplicates a row): optimistically, since
 * that happens only when a commit went through but its acknowledgement did not — the `COPY` then
 * fails on the primary key, the transaction rolls back, and the batch is written again without
 * the ids that are there.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Writes a batch of records (parsed lines: each line is hashed as it is); returns the records
   * written now (not those a previous attempt wrote). Runs on the pool under Prisma
   * (`PrismaService.pool`) rather than through it: this is the one bulk path.
   */
  async writeBatch(records: ParsedRecordLine[]): Promise<ChainedAuditRecord[]> {
    if (records.length === 0) return [];
    try {
      return await this.writeOnce(records, false);
    } catch (error) {
      if (!isDuplicateId(error)) throw error;
      return this.writeOnce(records, true);
    }
  }

  /** One transaction; `skipWritten` first looks up which ids are there already. */
  private writeOnce(records: ParsedRecordLine[], skipWritten: boolean): Promise<ChainedAuditRecord[]> {
    return this.onConnection(async (client) => {
      const query = <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
        // `query_timeout` (client side: also ends a statement whose connection went silent) is read by pg, untyped.
        const config: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: WRITE_TIMEOUT_MS };
        return client.query<R>(config);
      };
      await query('BEGIN', []);
      let fresh = records;
      if (skipWritten) {
        const existing = await query<{ id: string }>(
          'SELECT id::text AS id FROM audit_records WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))::uuid[])',
          [JSON.stringify(records.map((r) => r.record.id))],
        );
        const done = new Set(existing.rows.map((e) => e.id));
        fresh = records.filter((r) => !done.has(r.record.id));
      }
      if (fresh.length === 0) {
        await query('COMMIT', []);
        return [];
      }
      const keys = [...new Set(fresh.map((r) => chainKeyOf(r.record.tenant_id)))].sort();
      await query(
        'INSERT INTO audit_chain_heads (chain_key, seq, hash) SELECT k, 0, $2 FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING',
        [keys, GENESIS_HASH],
      );
      // Locked in sorted order: writers on several nodes never deadlock.
      const heads = await query<{ chain_key: string; seq: string; hash: string }>(
        'SELECT chain_key, seq, hash FROM audit_chain_heads WHERE chain_key = ANY($1::text[]) ORDER BY chain_key FOR UPDATE',
        [keys],
      );
      const head = new Map(heads.rows.map((h) => [h.chain_key, { seq: Number(h.seq), hash: h.hash }]));
      const chained: ChainedAuditRecord[] = [];
      // Rows go to COPY in chunks as they are chained and hashed: Postgres takes one chunk while
      // the next is made. Each row is written into the chunk's buffer as it is made.
      function* rows(): Generator<Buffer> {
        let chunk = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
        let used = 0;
        for (const { line, record } of fresh) {
          const key = chainKeyOf(record.tenant_id);
          const last = head.get(key) ?? { seq: 0, hash: GENESIS_HASH };
          const seq = last.seq + 1;
          const hash = chainHashOfLine(last.hash, line, seq);
          head.set(key, { seq, hash });
          // The parsed record is this write's own: it becomes the chained record in place.
          const written: ChainedAuditRecord = Object.assign(record, { seq, prev_hash: last.hash, hash });
          chained.push(written);
          const row = copyRow(written);
          // At most 3 bytes of UTF-8 per UTF-16 unit: a row that might not fit starts a new chunk.
          if (used + 3 * row.length > chunk.length) {
            if (used > 0) yield chunk.subarray(0, used);
            chunk = Buffer.allocUnsafe(Math.max(COPY_CHUNK_BYTES, 3 * row.length));
            used = 0;
          }
          used += chunk.write(row, used);
        }
        if (used > 0) yield chunk.subarray(0, used);
      }
      const copy = client.query(copyFrom(`COPY audit_records (${WRITE_COLUMNS}) FROM STDIN WITH (FORMAT text)`));
      // `query_timeout` does not cover a COPY: a connection gone silent is cut here instead.
      const timer = setTimeout(() => copy.destroy(new Error(`audit COPY took longer than ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
      try {
        await pipeline(Readable.from(rows()), copy);
      } finally {
        clearTimeout(timer);
      }
      const moved = keys.map((key) => ({ chain_key: key, ...head.get(key) }));
      await query(
        `UPDATE audit_chain_heads h SET seq = u.seq, hash = u.hash
         FROM jsonb_to_recordset($1::jsonb) AS u(chain_key text, seq bigint, hash text) WHERE h.chain_key = u.chain_key`,
        [JSON.stringify(moved)],
      );
      await query('COMMIT', []);
      return chained;
    });
  }

  /**
   * Runs `work` on a connection of the pool. The connection dying while checked out is emitted on
   * the client: handled here, not a crash. When `work` fails, its transaction is rolled back and
   * the connection is not trusted again.
   */
  private async onConnection<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.prisma.pool.connect();
    let broken = false;
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * One transaction under the maintenance lock, with lock waits bounded by {@link DDL_LOCK_TIMEOUT};
   * null when another node holds the lock (it is doing the same work).
   */
  private async underMaintenanceLock<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T | null> {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
    const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [PARTITION_LOCK_KEY]);
    if (!lock.rows[0]?.ok) {
      await client.query('COMMIT');
      return null;
    }
    const result = await work();
    await client.query('COMMIT');
    return result;
  }

  /** True when Postgres answers (the writer tells a refused batch from an outage). */
  reachable(): Promise<boolean> {
    return this.prisma.isReachable();
  }

  /** One page, newest first, after `cursor`. */
  async page(filter: AuditFilter, limit: number, cursor?: AuditCursor): Promise<ChainedAuditRecord[]> {
    const rows = await this.prisma.$queryRawUnsafe<Row[]>(...this.selectNewestFirst(filter, limit, cursor));
    return rows.map(fromRow);
  }

  /** The chains to verify, in key order: one (`chainKey`), or all, from `fromChainKey` on (a resumed walk). */
  async chains(chainKey?: string, fromChainKey?: string): Promise<AuditChain[]> {
    const rows = await this.prisma.$queryRaw<
      { chain_key: string; seq: bigint; hash: string; anchor_seq: bigint | null; anchor_hash: string | null }[]
    >`
      SELECT h.chain_key, h.seq, h.hash, a.seq AS anchor_seq, a.hash AS anchor_hash
      FROM audit_chain_heads h LEFT JOIN audit_chain_anchors a ON a.chain_key = h.chain_key
      WHERE (${chainKey ?? null}::text IS NULL OR h.chain_key = ${chainKey ?? null}::text)
        AND (${fromChainKey ?? null}::text IS NULL OR h.chain_key >= ${fromChainKey ?? null}::text)
      ORDER BY h.chain_key`;
    return rows.map((r) => ({
      chainKey: r.chain_key,
      seq: Number(r.seq),
      hash: r.hash,
      anchorSeq: Number(r.anchor_seq ?? 0),
      anchorHash: r.anchor_hash ?? GENESIS_HASH,
    }));
  }

  /** Records of a chain in sequence order, after `afterSeq` and up to `untilSeq` (the head a walk started from). */
  async chainSlice(chainKey: string, afterSeq: number, limit: number, untilSeq: number): Promise<ChainedAuditRecord[]> {
    const rows = await this.prisma.$queryRawUnsafe<Row[]>(
      `SELECT ${COLUMNS} FROM audit_records WHERE chain_key = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
      chainKey,
      afterSeq,
      untilSeq,
      limit,
    );
    return rows.map(fromRow);
  }

  /** The partitions of `audit_records`, in range order (the default one last). */
  partitions(): Promise<AuditPartition[]> {
    return this.onConnection(listPartitions);
  }

  /**
   * Creates the partitions of `wanted` that are missing, under the maintenance lock (when another
   * node holds it, it is doing the same work: nothing happens here). A wanted range that overlaps an
   * existing partition is left as it is (the period was changed: the new one applies from the first
   * range nothing covers). Records that went to the default partition meanwhile are moved into the
   * new partition in the same transaction. Returns the partitions created.
   */
  ensurePartitions(wanted: PartitionRange[]): Promise<{ created: string[]; moved: number; busy: boolean }> {
    return this.onConnection(async (client) => {
      const existing = (await listPartitions(client)).filter(
        (p): p is AuditPartition & { from: Date; to: Date } => p.from !== null && p.to !== null,
      );
      const missing = wanted.filter((w) => !existing.some((e) => overlaps(w, e)));
      if (missing.length === 0) return { created: [], moved: 0, busy: false };
      const done = await this.underMaintenanceLock(client, async () => {
        // Re-read under the lock: another node may have created some since.
        const present = (await listPartitions(client)).filter((p) => p.from !== null && p.to !== null) as { from: Date; to: Date }[];
        const created: string[] = [];
        let moved = 0;
        for (const range of missing) {
          if (present.some((e) => overlaps(range, e))) continue;
          const from = timestampLiteral(range.from);
          const to = timestampLiteral(range.to);
          const name = partitionIdentifier(range.name);
          // Rows of this range in the default partition would make the CREATE fail: they move over.
          const stray = await client.query(
            `SELECT 1 FROM "${DEFAULT_PARTITION}" WHERE "timestamp" >= ${from} AND "timestamp" < ${to} LIMIT 1`,
          );
          if (stray.rowCount) {
            await client.query(
              `CREATE TEMP TABLE audit_moving ON COMMIT DROP AS
               WITH gone AS (DELETE FROM "${DEFAULT_PARTITION}" WHERE "timestamp" >= ${from} AND "timestamp" < ${to} RETURNING *) SELECT * FROM gone`,
            );
            await client.query(`CREATE TABLE ${name} PARTITION OF audit_records FOR VALUES FROM (${from}) TO (${to})`);
            const inserted = await client.query('INSERT INTO audit_records SELECT * FROM audit_moving');
            await client.query('DROP TABLE audit_moving');
            moved += inserted.rowCount ?? 0;
          } else {
            await client.query(`CREATE TABLE ${name} PARTITION OF audit_records FOR VALUES FROM (${from}) TO (${to})`);
          }
          created.push(range.name);
          present.push(range);
        }
        return { created, moved };
      });
      return done ? { ...done, busy: false } : { created: [], moved: 0, busy: true };
    });
  }

  /**
   * Retention. The partitions whose whole range is before `cutoff` are detached and dropped; the
   * default partition's records before `cutoff` are deleted. Each chain is first anchored at the
   * last record (by sequence) among those, and the records of the chain up to that one that sit in
   * a kept partition (a record written late, its timestamp before an earlier one's) are deleted
   * too: what remains of a chain is contiguous and starts right after its anchor, as `verify`
   * expects. A record newer than `cutoff` in a partition is kept until its whole partition is past.
   *
   * Dropping runs in one transaction holding `audit_records` exclusively (writers wait, no record
   * lands in a partition while it is cut): the per-chain work there is index lookups, and the lock
   * is waited for at most {@link DDL_LOCK_TIMEOUT}. Only one node at a time (maintenance lock).
   */
  purgeBefore(cutoff: Date): Promise<PurgeReport> {
    return this.onConnection(async (client) => {
      const droppable = (await listPartitions(client)).filter(
        (p) => p.name !== DEFAULT_PARTITION && p.to !== null && p.to.getTime() <= cutoff.getTime(),
      );
      const old = await client.query(`SELECT 1 FROM "${DEFAULT_PARTITION}" WHERE "timestamp" < $1 LIMIT 1`, [cutoff]);
      if (droppable.length === 0 && !old.rowCount) return { deleted: 0, dropped: [], busy: false };
      // Everything before `cut` goes with the dropped partitions (-infinity: none is dropped).
      const cut = droppable.reduce<Date | null>((max, p) => (max === null || p.to! > max ? p.to! : max), null);
      const cutLiteral = cut ? timestampLiteral(cut) : "'-infinity'";
      const done = await this.underMaintenanceLock(client, async () => {
        if (droppable.length > 0) await client.query('LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE');
        // Per chain, the last record (by sequence) of what goes: index lookups, chain by chain.
        const cuts = await client.query<{ chain_key: string; seq: string }>(
          `SELECT chain_key, seq FROM (
             SELECT h.chain_key, greatest(
               (SELECT max(r.seq) FROM audit_records r WHERE r.chain_key = h.chain_key AND r."timestamp" < ${cutLiteral}),
               (SELECT max(d.seq) FROM "${DEFAULT_PARTITION}" d WHERE d.chain_key = h.chain_key AND d."timestamp" < $1)) AS seq
             FROM audit_chain_heads h) c
           WHERE seq IS NOT NULL ORDER BY chain_key`,
          [cutoff],
        );
        let deleted = 0;
        for (const c of cuts.rows) {
          const last = await client.query<{ hash: string }>(
            'SELECT hash FROM audit_records WHERE chain_key = $1 AND seq = $2 ORDER BY "timestamp" LIMIT 1',
            [c.chain_key, c.seq],
          );
          if (!last.rows[0]) continue;
          await client.query(
            `INSERT INTO audit_chain_anchors (chain_key, seq, hash) VALUES ($1, $2, $3)
             ON CONFLICT (chain_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = now()
             WHERE audit_chain_anchors.seq < excluded.seq`,
            [c.chain_key, c.seq, last.rows[0].hash],
          );
          // What the drop does not take: kept partitions (pruned at plan time: the bound is a literal), then the default one.
          const kept = await client.query(`DELETE FROM audit_records WHERE chain_key = $1 AND seq <= $2 AND "timestamp" >= ${cutLiteral}`, [
            c.chain_key,
            c.seq,
          ]);
          const stray = await client.query(
            `DELETE FROM "${DEFAULT_PARTITION}" WHERE chain_key = $1 AND seq <= $2 AND "timestamp" < ${cutLiteral}`,
            [c.chain_key, c.seq],
          );
          deleted += (kept.rowCount ?? 0) + (stray.rowCount ?? 0);
        }
        const dropped: PurgeReport['dropped'] = [];
        for (const p of droppable) {
          const estimate = await client.query<{ n: number }>(
            'SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1::regclass',
            [p.name],
          );
          await client.query(`ALTER TABLE audit_records DETACH PARTITION ${partitionIdentifier(p.name)}`);
          await client.query(`DROP TABLE ${partitionIdentifier(p.name)}`);
          dropped.push({ name: p.name, estimatedRows: Math.round(estimate.rows[0]?.n ?? 0) });
        }
        return { deleted, dropped };
      });
      return done ? { ...done, busy: false } : { deleted: 0, dropped: [], busy: true };
    });
  }

  private selectNewestFirst(filter: AuditFilter, limit: number, cursor?: AuditCursor): [string, ...unknown[]] {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.tenantId !== undefined) where.push(`tenant_id = ${param(filter.tenantId)}`);
    if (filter.agentId !== undefined) {
      const p = param(filter.agentId);
      where.push(`((actor_type = 'agent' AND actor_id = ${p}) OR subject = ${p})`);
    }
    if (filter.action !== undefined) where.push(`action = ${param(filter.action)}`);
    if (filter.since !== undefined) where.push(`"timestamp" >= ${param(filter.since)}`);
    if (filter.until !== undefined) where.push(`"timestamp" < ${param(filter.until)}`);
    if (cursor) where.push(`("timestamp", id) < (${param(cursor.timestamp)}::timestamptz, ${param(cursor.id)}::uuid)`);
    const sql = `SELECT ${COLUMNS} FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY audit_records."timestamp" DESC, audit_records.id DESC LIMIT ${param(limit)}`;
    return [sql, ...params];
  }
}

function fromRow(row: Row): ChainedAuditRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    timestamp: row.timestamp.toISOString(),
    tenant_id: row.tenant_id,
    action: row.action,
    actor: { type: row.actor_type as ChainedAuditRecord['actor']['type'], id: row.actor_id },
    subject: row.subject,
    outcome: row.outcome,
    reason: row.reason,
    session_id: row.session_id,
    remote_addr: row.remote_addr,
    node_id: row.node_id,
    details: (row.details ?? {}) as Record<string, unknown>,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** The partitions of `audit_records` with their bounds, read back from the catalog (any session time zone). */
async function listPartitions(client: pg.PoolClient): Promise<AuditPartition[]> {
  const { rows } = await client.query<{ name: string; from: Date | null; to: Date | null }>(
    `SELECT c.relname AS name,
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO'))[1]::timestamptz AS "from",
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "to"
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_records'::regclass
     ORDER BY 3 NULLS LAST`,
  );
  return rows;
}
