import { Injectable } from '@nestjs/common';
import { CURSOR_KEYS, cursorCodec } from '#libs/protocol';
import type { ChainedAuditRecord } from './audit-record.js';
import { AuditRepository, type AuditFilter } from './audit.repository.js';

const EXPORT_CHUNK = 1_000;
/** Pages are newest first by `(timestamp, id)`: the cursor is the last record's pair. */
const PAGE_CURSOR = cursorCodec('audit', CURSOR_KEYS.timestamp, CURSOR_KEYS.uuid);

/** Reads of the audit trail: pages newest first and streamed exports (the chain check is `VerifyAuditChains`). */
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
}
