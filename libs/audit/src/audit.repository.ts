import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PrismaService, type Prisma } from '#libs/persistence';
import { GENESIS_HASH, chainHash, chainKeyOf, type AuditRecord, type ChainedAuditRecord } from './audit-record.js';

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

/** The columns the writer fills, in the order of its COPY rows. */
const WRITE_COLUMNS =
  'id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id, remote_addr, node_id, details, prev_hash, hash';

/** One CSV field of COPY: NULL unquoted and empty, anything else quoted with its quotes doubled. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return `"${text.includes('"') ? text.replaceAll('"', '""') : text}"`;
}

/** The batch as COPY … (FORMAT csv) rows. */
function csvRows(chained: ChainedAuditRecord[]): string {
  let out = '';
  for (const r of chained) {
    out += [
      r.id,
      r.seq,
      chainKeyOf(r.tenant_id),
      r.tenant_id,
      r.timestamp,
      r.action,
      r.actor.type,
      r.actor.id,
      r.subject,
      r.outcome,
      r.reason,
      r.session_id,
      r.remote_addr,
      r.node_id,
      JSON.stringify(r.details),
      r.prev_hash,
      r.hash,
    ]
      .map(csvField)
      .join(',');
    out += '\n';
  }
  return out;
}

/** A write that found a record of the batch already there (a retried job whose first commit went through). */
function isDuplicateId(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && e.constraint === 'audit_records_pkey';
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
   * Writes a batch; returns the records written now (not those a previous attempt wrote). Runs on
   * the pool under Prisma (`PrismaService.pool`) rather than through it: this is the one bulk path,
   * and the batch travels as two JSON parameters that Postgres unpacks.
   */
  async writeBatch(records: AuditRecord[]): Promise<ChainedAuditRecord[]> {
    if (records.length === 0) return [];
    try {
      return await this.writeOnce(records, false);
    } catch (error) {
      if (!isDuplicateId(error)) throw error;
      return this.writeOnce(records, true);
    }
  }

  /** One transaction; `skipWritten` first looks up which ids are there already. */
  private async writeOnce(records: AuditRecord[], skipWritten: boolean): Promise<ChainedAuditRecord[]> {
    const client = await this.prisma.pool.connect();
    const query = <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
      // `query_timeout` (client side: also ends a statement whose connection went silent) is read by pg, untyped.
      const config: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: WRITE_TIMEOUT_MS };
      return client.query<R>(config);
    };
    let broken = false;
    // The connection dying while checked out is emitted on the client: handled here, not a crash.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await query('BEGIN', []);
      let fresh = records;
      if (skipWritten) {
        const existing = await query<{ id: string }>(
          'SELECT id::text AS id FROM audit_records WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))::uuid[])',
          [JSON.stringify(records.map((r) => r.id))],
        );
        const done = new Set(existing.rows.map((e) => e.id));
        fresh = records.filter((r) => !done.has(r.id));
      }
      if (fresh.length === 0) {
        await query('COMMIT', []);
        return [];
      }
      const keys = [...new Set(fresh.map((r) => chainKeyOf(r.tenant_id)))].sort();
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
      const chained = fresh.map((record) => {
        const key = chainKeyOf(record.tenant_id);
        const last = head.get(key) ?? { seq: 0, hash: GENESIS_HASH };
        const seq = last.seq + 1;
        const hash = chainHash(last.hash, record, seq);
        head.set(key, { seq, hash });
        return { ...record, seq, prev_hash: last.hash, hash };
      });
      const copy = client.query(copyFrom(`COPY audit_records (${WRITE_COLUMNS}) FROM STDIN WITH (FORMAT csv)`));
      // `query_timeout` does not cover a COPY: a connection gone silent is cut here instead.
      const timer = setTimeout(() => copy.destroy(new Error(`audit COPY took longer than ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
      try {
        await pipeline(Readable.from([csvRows(chained)]), copy);
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
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed mid-transaction is not trusted again.
      client.off('error', onError);
      client.release(broken);
    }
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

  /**
   * Retention: per chain, deletes the records up to the last one older than `cutoff` (by sequence,
   * so what remains is contiguous), and records that last one as the chain's anchor. Batched.
   */
  async purgeBefore(cutoff: Date, batch = 10_000): Promise<number> {
    const targets = await this.prisma.$queryRaw<{ chain_key: string; seq: bigint }[]>`
      SELECT chain_key, max(seq) AS seq FROM audit_records WHERE "timestamp" < ${cutoff} GROUP BY chain_key`;
    let deleted = 0;
    for (const target of targets) {
      const last = await this.prisma.$queryRaw<
        { hash: string }[]
      >`SELECT hash FROM audit_records WHERE chain_key = ${target.chain_key} AND seq = ${target.seq}`;
      if (!last[0]) continue;
      await this.prisma.$executeRaw`
        INSERT INTO audit_chain_anchors (chain_key, seq, hash) VALUES (${target.chain_key}, ${target.seq}, ${last[0].hash})
        ON CONFLICT (chain_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = now()
        WHERE audit_chain_anchors.seq < excluded.seq`;
      for (;;) {
        const n = await this.prisma.$executeRaw`
          DELETE FROM audit_records WHERE id IN (
            SELECT id FROM audit_records WHERE chain_key = ${target.chain_key} AND seq <= ${target.seq} ORDER BY seq LIMIT ${batch})`;
        deleted += n;
        if (n < batch) break;
      }
    }
    return deleted;
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
