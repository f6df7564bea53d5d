import type { RedisClient } from '#libs/redis';
import { recordLine, type AuditRecord } from './audit-record.js';

/** One entry of a staging stream: the record lines of one flush, in order. */
export interface StagedEntry {
  id: string;
  lines: string[];
}

/** Where producers stage record lines (`<prefix>audit:lines…`). */
export const STAGING_NAMESPACE = 'audit:lines';
/**
 * Where producers of the previous release staged record objects (`<prefix>audit:staging…`, field
 * `r`). Writers still sweep it, so nothing a dead producer of that release left is lost; a writer
 * of that release never sees the lines' namespace, so it cannot mistake a line entry for an empty one.
 */
export const LEGACY_STAGING_NAMESPACE = 'audit:staging';

// A producer's lease: refreshed every 5 s, gone 15 s after its producer stopped refreshing it.
export const STAGING_LEASE_MS = 15_000;
export const STAGING_REFRESH_MS = 5_000;
// How long a writer holds a dead producer's stream while it writes it.
const SWEEP_LOCK_MS = 60_000;
// Producers read from the registry per SSCAN page.
const SCAN_COUNT = 100;

/**
 * The staging streams of the audit trail in Redis: where a producer puts records at once (one
 * `XADD` per flush, the durable point a `delivered` waits for) before it hands them to the queue
 * in larger jobs. Each producer (one per gateway or admin process start) has its own stream, a
 * lease, and an entry in the registry of producers:
 *
 * - `<prefix>audit:lines` — SET of producer instance ids;
 * - `<prefix>audit:lines:{<instance>}` — the stream; entry ids `0-<seq>`, one field: `l`, the record
 *   lines of the flush, joined with `\n`; or `w`, the ids (comma-separated) of provisional records of
 *   earlier entries that were withdrawn (a writer taking the stream over skips them);
 * - `<prefix>audit:lines:{<instance>}:alive` — the lease (PX {@link STAGING_LEASE_MS});
 * - `<prefix>audit:lines:{<instance>}:swept` — the stream of a dead producer, being written by a writer;
 * - `<prefix>audit:lines:{<instance>}:sweeping` — the writer doing it (PX 60 s).
 *
 * The same layout under {@link LEGACY_STAGING_NAMESPACE} (entries with field `r`) is only swept.
 *
 * The keys of one producer share a hash tag (one Cluster slot): `RENAMENX` moves its stream.
 */
export class AuditStagingRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly namespace: string = STAGING_NAMESPACE,
  ) {}

  private get registry(): string {
    return `${this.keyPrefix}${this.namespace}`;
  }

  private stream(instance: string): string {
    return `${this.keyPrefix}${this.namespace}:{${instance}}`;
  }

  // ---- the producer's side

  /**
   * Renews the producer's lease and registers it (at start, then every {@link STAGING_REFRESH_MS}).
   * The lease first: a writer's sweep between the two would otherwise find a registered producer
   * without a lease, take it for dead and unregister it.
   */
  async renew(instance: string): Promise<void> {
    await this.redis.set(`${this.stream(instance)}:alive`, '1', 'PX', STAGING_LEASE_MS);
    await this.redis.sadd(this.registry, instance);
  }

  /** Appends one flush's record lines (joined with `\n`), as entry `0-<seq>` (`seq` grows with every call of this producer). */
  async stage(instance: string, seq: number, lines: string): Promise<void> {
    await this.redis.xadd(this.stream(instance), `0-${seq}`, 'l', lines);
  }

  /** Appends the ids of withdrawn provisional records, as entry `0-<seq>`. */
  async withdraw(instance: string, seq: number, ids: string[]): Promise<void> {
    await this.redis.xadd(this.stream(instance), `0-${seq}`, 'w', ids.join(','));
  }

  /** Drops the entries below `minSeq` and the entries `seqs` (all now in queue jobs). */
  async trim(instance: string, minSeq: number, seqs: number[] = []): Promise<void> {
    const stream = this.stream(instance);
    await Promise.all([
      this.redis.xtrim(stream, 'MINID', `0-${minSeq}`),
      ...(seqs.length > 0 ? [this.redis.xdel(stream, ...seqs.map((seq) => `0-${seq}`))] : []),
    ]);
  }

  /** A producer that stops with everything in queue jobs: its stream, lease and registration go. */
  async release(instance: string): Promise<void> {
    await this.redis.del(this.stream(instance), `${this.stream(instance)}:alive`);
    await this.redis.srem(this.registry, instance);
  }

  // ---- a writer's side: the streams of producers that died before handing them to the queue

  /** Registered producers whose lease is gone (the whole registry, by SSCAN pages). */
  async orphans(): Promise<string[]> {
    const dead: string[] = [];
    let cursor = '0';
    do {
      const [next, instances] = await this.redis.sscan(this.registry, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const instance of instances) if ((await this.redis.exists(`${this.stream(instance)}:alive`)) === 0) dead.push(instance);
    } while (cursor !== '0');
    return dead;
  }

  /**
   * Takes the stream of a dead producer for `writer`: false when another writer has it. The
   * stream is renamed `…:swept` (unless a writer that stopped midway left one, which comes first),
   * so that a producer that was only stalled, and comes back, stages into a new stream.
   */
  async claim(instance: string, writer: string): Promise<boolean> {
    const key = this.stream(instance);
    if ((await this.redis.set(`${key}:sweeping`, writer, 'PX', SWEEP_LOCK_MS, 'NX')) !== 'OK') return false;
    if ((await this.redis.exists(`${key}:swept`)) === 0 && (await this.redis.exists(key)) === 1)
      await this.redis.renamenx(key, `${key}:swept`);
    return true;
  }

  /** The next `count` entries of a claimed stream, oldest first. */
  async sweptEntries(instance: string, count: number): Promise<StagedEntry[]> {
    const entries = await this.redis.xrange(`${this.stream(instance)}:swept`, '-', '+', 'COUNT', count);
    return entries.map(([id, fields]) => ({ id, lines: entryLines(fields) }));
  }

  /** The ids of withdrawn records in a claimed stream (its `w` entries, read through `count` entries at a time). */
  async sweptWithdrawals(instance: string, count: number): Promise<Set<string>> {
    const withdrawn = new Set<string>();
    for (let start = '-'; ;) {
      const entries = await this.redis.xrange(`${this.stream(instance)}:swept`, start, '+', 'COUNT', count);
      for (const [, fields] of entries) for (const id of entryWithdrawals(fields)) withdrawn.add(id);
      if (entries.length < count) return withdrawn;
      start = `(${entries[entries.length - 1]![0]}`;
    }
  }

  /** Drops the entries of a claimed stream up to `id` (written). */
  async dropSwept(instance: string, id: string): Promise<void> {
    const seq = Number(id.slice(id.indexOf('-') + 1));
    await this.redis.xtrim(`${this.stream(instance)}:swept`, 'MINID', `0-${seq + 1}`);
  }

  /**
   * Ends a sweep: the claimed stream and the lock go, and the registration unless the producer
   * staged again meanwhile (it was stalled, not dead: its next renewal registers it anyway).
   */
  async finishSweep(instance: string): Promise<void> {
    const key = this.stream(instance);
    await this.redis.del(`${key}:swept`);
    if ((await this.redis.exists(key)) === 0) await this.redis.srem(this.registry, instance);
    await this.redis.del(`${key}:sweeping`);
  }
}

/** The record lines of an entry: its `l` field, or those of the records of an older entry's `r`. */
function entryLines(fields: string[]): string[] {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    if (fields[i] === 'l') return value === '' ? [] : value.split('\n');
    if (fields[i] === 'r') return (JSON.parse(value) as AuditRecord[]).map(recordLine);
  }
  return [];
}

/** The ids an entry withdraws: its `w` field's. */
function entryWithdrawals(fields: string[]): string[] {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'w') return fields[i + 1]!.split(',');
  return [];
}
