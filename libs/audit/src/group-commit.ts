import type { ChainedAuditRecord, ParsedRecordLine } from './audit-record.js';

/** Where a group commit writes: a batch of records in one transaction, and whether the database answers. */
export interface GroupCommitTarget {
  writeBatch(records: ParsedRecordLine[]): Promise<ChainedAuditRecord[]>;
  reachable(): Promise<boolean>;
}

interface Waiting {
  records: ParsedRecordLine[];
  done: (written: number) => void;
  failed: (error: Error) => void;
}

/**
 * Group commit of audit batches: `submit` queues a batch and resolves when a transaction holding
 * it commits. One transaction runs at a time and takes every batch waiting (up to `maxRecords`), so
 * under load transactions grow instead of multiplying. When a group fails while the database still
 * answers, one of its batches was refused: the batches are then written one by one, so a bad batch
 * fails alone instead of taking the others with it.
 *
 * `lingerMs`: when a batch arrives while nothing is being written, the transaction starts that
 * much later (at once when `maxRecords` are waiting), with every batch that came meanwhile. Below
 * saturation batches come one record at a time (each `delivered` flushes its record to the queue
 * at once), and one transaction per record would cost the writer's process more than the
 * routing; lingering makes the transactions of a light load as full as those of a heavy one, for
 * at most `lingerMs` of audit lag. Under load the transaction in progress is the linger.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  /** Records in {@link waiting}. */
  private waitingRecords = 0;
  private writing = false;
  private lingering: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: GroupCommitTarget,
    private readonly maxRecords: number,
    private readonly onWritten: (records: ChainedAuditRecord[]) => void,
    private readonly lingerMs = 0,
  ) {}

  /** Resolves with the batch's size once it is committed; rejects with the error that stopped it. */
  submit(records: ParsedRecordLine[]): Promise<number> {
    return new Promise((done, failed) => {
      this.waiting.push({ records, done, failed });
      this.waitingRecords += records.length;
      this.start();
    });
  }

  /** Starts the next transaction: after the linger when idle, at once when a transaction's worth waits. */
  private start(): void {
    if (this.writing) return;
    if (this.lingerMs === 0 || this.waitingRecords >= this.maxRecords) {
      if (this.lingering) clearTimeout(this.lingering);
      this.lingering = null;
      void this.run();
      return;
    }
    this.lingering ??= setTimeout(() => {
      this.lingering = null;
      void this.run();
    }, this.lingerMs);
  }

  private async run(): Promise<void> {
    if (this.writing || this.waiting.length === 0) return;
    this.writing = true;
    const group = this.take();
    try {
      await this.write(group.flatMap((g) => g.records));
      for (const g of group) g.done(g.records.length);
    } catch (error) {
      if (group.length > 1 && (await this.target.reachable().catch(() => false))) {
        for (const g of group)
          await this.write(g.records).then(
            () => g.done(g.records.length),
            (alone: Error) => g.failed(alone),
          );
      } else for (const g of group) g.failed(error as Error);
    } finally {
      this.writing = false;
      // What came during the transaction goes at once: the transaction was its linger.
      void this.run();
    }
  }

  /** The batches of the next transaction: at least one, then as many as fit in `maxRecords`. */
  private take(): Waiting[] {
    const group: Waiting[] = [];
    let size = 0;
    for (
      let next = this.waiting[0];
      next && (group.length === 0 || size + next.records.length <= this.maxRecords);
      next = this.waiting[0]
    ) {
      group.push(next);
      size += next.records.length;
      this.waiting.shift();
      this.waitingRecords -= next.records.length;
    }
    return group;
  }

  private async write(records: ParsedRecordLine[]): Promise<void> {
    this.onWritten(await this.target.writeBatch(records));
  }
}
