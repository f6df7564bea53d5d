import type { AuditRecord, ChainedAuditRecord } from './audit-record.js';

/** Where a group commit writes: a batch in one transaction, and whether the database answers. */
export interface GroupCommitTarget {
  writeBatch(records: AuditRecord[]): Promise<ChainedAuditRecord[]>;
  reachable(): Promise<boolean>;
}

interface Waiting {
  records: AuditRecord[];
  done: (written: number) => void;
  failed: (error: Error) => void;
}

/**
 * Group commit of audit batches: `submit` queues a batch and resolves when a transaction holding
 * it commits. One transaction runs at a time and takes every batch waiting (up to `maxRecords`), so
 * under load transactions grow instead of multiplying. When a group fails while the database still
 * answers, one of its batches was refused: the batches are then written one by one, so a bad batch
 * fails alone instead of taking the others with it.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly target: GroupCommitTarget,
    private readonly maxRecords: number,
    private readonly onWritten: (records: ChainedAuditRecord[]) => void,
  ) {}

  /** Resolves with the batch's size once it is committed; rejects with the error that stopped it. */
  submit(records: AuditRecord[]): Promise<number> {
    return new Promise((done, failed) => {
      this.waiting.push({ records, done, failed });
      void this.run();
    });
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
    }
    return group;
  }

  private async write(records: AuditRecord[]): Promise<void> {
    this.onWritten(await this.target.writeBatch(records));
  }
}
