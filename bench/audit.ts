/**
 * The audit part of `npm run bench`:
 * - lag of the `message.routed` records the routing rounds produced (row written − event), per node;
 * - the writer's rows/s (a queue filled in advance, drained by `apps/audit-worker`) against a raw
 *   `COPY` of as many rows of the same shape into the same table, in the same run;
 * - a streamed export of a million rows through the admin API: rows/s and the gateway's memory.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { AUDIT_QUEUE, batchJob, bullPrefix, recordLine, toRecord, uuidv7, type AuditBatchJob, type AuditRecord } from '#libs/audit';
import { median } from './processes.js';

export interface LagFigures {
  node_id: string;
  records: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** From the last event to its row: how long the writer needed to catch up after the load stopped. */
  drain_ms: number;
}

/** Waits until the tenant's `message.routed` records stop growing, then reads their lag per node. */
export async function routingLag(db: pg.Pool, tenant: string): Promise<LagFigures[]> {
  let last = -1;
  for (let stable = 0, waited = 0; stable < 2 && waited < 60_000; waited += 500) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await countOf(db, tenant);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  const { rows } = await db.query<{ node_id: string; records: string; p50: number; p99: number; max: number; drain: number }>(
    `SELECT node_id, count(*) AS records,
            1000 * percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM written_at - "timestamp")) AS p50,
            1000 * percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM written_at - "timestamp")) AS p99,
            1000 * max(extract(epoch FROM written_at - "timestamp")) AS max,
            1000 * extract(epoch FROM max(written_at) - max("timestamp")) AS drain
       FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed' GROUP BY node_id ORDER BY node_id`,
    [tenant],
  );
  return rows.map((r) => ({
    node_id: r.node_id,
    records: Number(r.records),
    p50_ms: Math.round(Number(r.p50)),
    p99_ms: Math.round(Number(r.p99)),
    max_ms: Math.round(Number(r.max)),
    drain_ms: Math.round(Number(r.drain)),
  }));
}

export interface WriteFigures {
  rows: number;
  writer_rows_per_s: number;
  copy_rows_per_s: number;
  ratio_writer_over_copy: number;
}

/**
 * `writerAgainstCopy` for `rounds` rounds (writer, COPY, writer, COPY, …): the median of each
 * figure, the ratio as the median of the rounds' ratios, and each round's figures.
 */
export async function writerAgainstCopyRounds(
  options: Omit<Parameters<typeof writerAgainstCopy>[0], 'round'>,
  rounds: number,
): Promise<WriteFigures & { ratio_per_round: number[]; per_round: WriteFigures[] }> {
  const runs: WriteFigures[] = [];
  for (let round = 0; round < rounds; round++) runs.push(await writerAgainstCopy({ ...options, round }));
  return {
    rows: runs.reduce((sum, r) => sum + r.rows, 0),
    writer_rows_per_s: median(runs.map((r) => r.writer_rows_per_s)),
    copy_rows_per_s: median(runs.map((r) => r.copy_rows_per_s)),
    ratio_writer_over_copy: median(runs.map((r) => r.ratio_writer_over_copy)),
    ratio_per_round: runs.map((r) => r.ratio_writer_over_copy),
    per_round: runs,
  };
}

/**
 * Fills the queue with `rows` records (micro-batches of 500 over 10 tenants, as gateways produce
 * them), then starts an audit worker and measures from its first row to its last
 * (`written_at`); then `COPY`s as many rows of the same shape into the same table. `round` keeps
 * the tenants and queue of each call apart (the bench alternates the two for several rounds).
 */
export async function writerAgainstCopy(options: {
  db: pg.Pool;
  redisUrl: string;
  startWorker: (keyPrefix: string) => Promise<() => void>;
  rows: number;
  round?: number;
}): Promise<WriteFigures> {
  const { db, rows, round = 0 } = options;
  const keyPrefix = `agwbench-audit-${process.pid}-${round}:`;
  const run = `w${process.pid}r${round}`;
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<AuditBatchJob>(AUDIT_QUEUE, { connection, prefix: bullPrefix(keyPrefix) });
  const jobs: { name: string; data: AuditBatchJob; opts: { jobId: string; removeOnComplete: boolean } }[] = [];
  for (let i = 0; i < rows; i += 500) {
    const records = Array.from({ length: Math.min(500, rows - i) }, (_, j) => routedRecord(`${run}-t${(i + j) % 10}`, i + j));
    jobs.push({ name: 'batch', data: batchJob(records.map(recordLine)), opts: { jobId: uuidv7(), removeOnComplete: true } });
  }
  for (let i = 0; i < jobs.length; i += 50) await queue.addBulk(jobs.slice(i, i + 50));
  const stopWorker = await options.startWorker(keyPrefix);
  const tenants = Array.from({ length: 10 }, (_, i) => `${run}-t${i}`);
  for (let waited = 0; waited < 300_000; waited += 250) {
    const { rows: counted } = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_records WHERE tenant_id = ANY($1)', [tenants]);
    if (Number(counted[0]?.n) >= rows) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  stopWorker();
  const { rows: span } = await db.query<{ n: string; seconds: number }>(
    'SELECT count(*) AS n, extract(epoch FROM max(written_at) - min(written_at)) AS seconds FROM audit_records WHERE tenant_id = ANY($1)',
    [tenants],
  );
  const written = Number(span[0]?.n);
  // The first batch's rows carry the time its transaction started: the span covers all but one batch.
  const writerRate = (written - 500) / Number(span[0]?.seconds);
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  connection.disconnect();

  const copySeconds = await copyRows(db, `c${process.pid}r${round}`, rows, 10);
  const copyRate = rows / copySeconds;
  return {
    rows: written,
    writer_rows_per_s: Math.round(writerRate),
    copy_rows_per_s: Math.round(copyRate),
    ratio_writer_over_copy: +(writerRate / copyRate).toFixed(3),
  };
}

export interface ExportFigures {
  rows: number;
  mb: number;
  rows_per_s: number;
  rss_before_mb: number;
  rss_peak_mb: number;
  heap_used_before_mb: number;
  heap_used_peak_mb: number;
}

/** COPYs `rows` records into one tenant and exports them as NDJSON through the admin API. */
export async function exportMillion(options: {
  db: pg.Pool;
  adminUrl: string;
  adminToken: string;
  pid: number;
  rows: number;
}): Promise<ExportFigures> {
  const tenant = `e${process.pid}`;
  await copyRows(options.db, tenant, options.rows, 1);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${options.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const heap = async (): Promise<number> => {
    const text = await (await fetch(`${options.adminUrl}/metrics`)).text();
    return Number(/^agw_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
  };
  const rssBefore = rss();
  const heapBefore = await heap();
  let rssPeak = rssBefore;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rss());
    void heap().then((h) => (heapPeak = Math.max(heapPeak, h)));
  }, 200);
  const started = performance.now();
  const response = await fetch(`${options.adminUrl}/admin/v1/audit/export?tenant_id=${tenant}&format=ndjson`, {
    headers: { authorization: `Bearer ${options.adminToken}` },
  });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return {
    rows: lines,
    mb: Math.round(bytes / 1024 / 1024),
    rows_per_s: Math.round(lines / seconds),
    rss_before_mb: Math.round(rssBefore),
    rss_peak_mb: Math.round(rssPeak),
    heap_used_before_mb: Math.round(heapBefore),
    heap_used_peak_mb: Math.round(heapPeak),
  };
}

/** A `message.routed` record as the routing path makes it (256-byte content, hashed). */
function routedRecord(tenant: string, i: number): AuditRecord {
  return toRecord(
    {
      action: 'message.routed',
      tenant_id: tenant,
      actor: { type: 'agent', id: `bench-sender-${i % 20}` },
      subject: `bench-receiver-${i % 20}`,
      outcome: 'allowed',
      reason: null,
      session_id: uuidv7(),
      remote_addr: '127.0.0.1',
      details: { message_id: uuidv7(), conversation_id: uuidv7(), to_tenant_id: tenant, expect_result: false },
      content: [{ type: 'text', text: 'x'.repeat(256) }],
    },
    'bench-node',
    false,
  );
}

/** Server-side `COPY` of `rows` records over `chains` tenants; returns the seconds the COPY took. */
async function copyRows(db: pg.Pool, stem: string, rows: number, chains: number): Promise<number> {
  const file = join(tmpdir(), `agw-bench-copy-${stem}.csv`);
  const quote = (value: string | null): string => (value === null ? '' : `"${value.replaceAll('"', '""')}"`);
  const fd = openSync(file, 'w', 0o644);
  for (let start = 0; start < rows; start += 10_000) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + 10_000); i++) {
      const tenant = chains === 1 ? stem : `${stem}-t${i % chains}`;
      const r = routedRecord(tenant, i);
      const seq = Math.floor(i / chains) + 1;
      lines.push(
        [r.id, String(seq), tenant, tenant, r.timestamp, r.action, r.actor.type, r.actor.id, r.subject, r.outcome, r.reason, r.session_id]
          .concat([r.remote_addr, r.node_id, JSON.stringify(r.details), '0'.repeat(64), r.id.replaceAll('-', '').padEnd(64, '0')])
          .map((v) => quote(v))
          .join(','),
      );
    }
    writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
  try {
    const started = performance.now();
    await db.query(
      `COPY audit_records (id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id,
                           remote_addr, node_id, details, prev_hash, hash) FROM '${file}' WITH (FORMAT csv)`,
    );
    return (performance.now() - started) / 1000;
  } finally {
    rmSync(file, { force: true });
  }
}

async function countOf(db: pg.Pool, tenant: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
    [tenant],
  );
  return Number(rows[0]?.n);
}
