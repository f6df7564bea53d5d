import { Injectable } from '@nestjs/common';
import { CURSOR_KEYS, cursorCodec } from '#libs/protocol';
import { GENESIS_HASH, chainHash, chainKeyOf, type ChainedAuditRecord } from './audit-record.js';
import { AuditRepository, type AuditFilter } from './audit.repository.js';

const EXPORT_CHUNK = 1_000;
/** Pages are newest first by `(timestamp, id)`: the cursor is the last record's pair. */
const PAGE_CURSOR = cursorCodec('audit', CURSOR_KEYS.timestamp, CURSOR_KEYS.uuid);
const VERIFY_CHUNK = 5_000;

/** What `GET /admin/v1/audit/verify` answers. */
export interface VerifyReport {
  ok: boolean;
  checked: number;
  /** The first record that does not fit its chain (edited, or following a removed one). */
  first_bad_id?: string;
  /** The chain (tenant id, or '' for events without a tenant) and position of the first problem. */
  chain?: string;
  first_bad_seq?: number;
  problem?: 'hash_mismatch' | 'broken_link' | 'missing_records' | 'missing_tail';
}

/** Reads of the audit trail: pages newest first, streamed exports, and the chain check. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly audit: AuditRepository) {}

  async page(
    filter: AuditFilter,
    limit: number,
    cursor: string | undefined,
  ): Promise<{ items: ChainedAuditRecord[]; next_cursor: string | null }> {
    const after = PAGE_CURSOR.decode(cursor);
    const items = await this.audit.page(filter, limit + 1, after && { timestamp: after[0], id: after[1] });
    const page = items.slice(0, limit);
    const last = page.at(-1);
    return { items: page, next_cursor: items.length > limit && last ? PAGE_CURSOR.encode(new Date(last.timestamp), last.id) : null };
  }

  /**
   * Every matching record, newest first, in chunks: memory stays flat whatever the count (at most
   * two chunks are held: the next one is read while the consumer writes out the current one).
   */
  async *stream(filter: AuditFilter): AsyncGenerator<ChainedAuditRecord> {
    let next: Promise<ChainedAuditRecord[]> | null = this.audit.page(filter, EXPORT_CHUNK);
    while (next) {
      const chunk: ChainedAuditRecord[] = await next;
      const last = chunk.at(-1);
      next =
        chunk.length === EXPORT_CHUNK && last
          ? this.audit.page(filter, EXPORT_CHUNK, { timestamp: new Date(last.timestamp), id: last.id })
          : null;
      // A consumer that stops early (client gone) never awaits it: its failure must not go unhandled.
      next?.catch(() => undefined);
      for (const record of chunk) yield record;
    }
  }

  /**
   * Walks each chain from its anchor (the start, or where retention cut it) to its head:
   * every record must have the next sequence number, link to the previous hash, and hash to what
   * it stores. Stops at the first record that does not, and names it.
   */
  async verify(tenantId?: string | null): Promise<VerifyReport> {
    const chains = await this.audit.chains(tenantId === undefined ? undefined : chainKeyOf(tenantId));
    let checked = 0;
    for (const chain of chains) {
      let expectedSeq = chain.anchorSeq + 1;
      let prev = chain.anchorSeq === 0 ? GENESIS_HASH : chain.anchorHash;
      for (;;) {
        const slice = await this.audit.chainSlice(chain.chainKey, expectedSeq - 1, VERIFY_CHUNK);
        for (const record of slice) {
          const bad = (problem: VerifyReport['problem']): VerifyReport => ({
            ok: false,
            checked,
            first_bad_id: record.id,
            chain: chain.chainKey,
            first_bad_seq: expectedSeq,
            problem,
          });
          if (record.seq !== expectedSeq) return bad('missing_records');
          if (record.prev_hash !== prev) return bad('broken_link');
          if (chainHash(prev, record, record.seq) !== record.hash) return bad('hash_mismatch');
          prev = record.hash;
          expectedSeq++;
          checked++;
        }
        if (slice.length < VERIFY_CHUNK) break;
      }
      // Records removed at the end: the head knows how far the chain went.
      if (expectedSeq - 1 < chain.seq || prev !== chain.hash)
        return { ok: false, checked, chain: chain.chainKey, first_bad_seq: expectedSeq, problem: 'missing_tail' };
    }
    return { ok: true, checked };
  }
}
