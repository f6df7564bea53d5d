import { describe, expect, it } from 'vitest';
import type { ChainedAuditRecord, ParsedRecordLine } from './audit-record.js';
import { GroupCommit, type GroupCommitTarget } from './group-commit.js';

// Lines stand for records here: the group commit only passes them on.
const batch = (stem: string, n: number): ParsedRecordLine[] =>
  Array.from({ length: n }, (_, i) => ({ line: `${stem}-${i}` }) as ParsedRecordLine);

/** A database that takes time, records each transaction, and refuses any batch holding a `bad` record. */
function fakeTarget(options: { reachable: boolean }): GroupCommitTarget & { transactions: string[][] } {
  const transactions: string[][] = [];
  return {
    transactions,
    async writeBatch(records) {
      await new Promise((r) => setTimeout(r, 5));
      if (records.some((r) => r.line.startsWith('bad'))) throw new Error('refused');
      if (!options.reachable) throw new Error('connection refused');
      transactions.push(records.map((r) => r.line));
      return records.map((r) => ({ id: r.line }) as ChainedAuditRecord);
    },
    reachable: () => Promise.resolve(options.reachable),
  };
}

describe('GroupCommit', () => {
  it('writes the batches that wait while a transaction runs together in the next one', async () => {
    const target = fakeTarget({ reachable: true });
    const written: number[] = [];
    const commit = new GroupCommit(target, 1_000, (records) => written.push(records.length));
    const results = await Promise.all([commit.submit(batch('a', 10)), commit.submit(batch('b', 10)), commit.submit(batch('c', 10))]);
    expect(results).toEqual([10, 10, 10]);
    expect(target.transactions.map((t) => t.length)).toEqual([10, 20]);
    expect(written).toEqual([10, 20]);
  });

  it('lingers when idle: batches arriving within AUDIT_WRITE_LINGER_MS share one transaction', async () => {
    const target = fakeTarget({ reachable: true });
    const commit = new GroupCommit(target, 1_000, () => undefined, 30);
    const first = commit.submit(batch('a', 1));
    await new Promise((r) => setTimeout(r, 10));
    expect(target.transactions).toEqual([]);
    const second = commit.submit(batch('b', 1));
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    expect(target.transactions).toEqual([['a-0', 'b-0']]);
  });

  it("does not linger once a transaction's worth is waiting, nor after a transaction (it was the linger)", async () => {
    const target = fakeTarget({ reachable: true });
    const commit = new GroupCommit(target, 10, () => undefined, 60_000);
    const started = Date.now();
    await commit.submit(batch('full', 10));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(target.transactions.map((t) => t.length)).toEqual([10]);
    // One lingering batch; a full one arrives and both go at once, then what came during that write.
    const small = commit.submit(batch('s', 1));
    const full = commit.submit(batch('f', 10));
    const during = new Promise((r) => setTimeout(r, 1)).then(() => commit.submit(batch('d', 1)));
    await Promise.all([small, full, during]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(target.transactions.map((t) => t[0])).toEqual(['full-0', 's-0', 'f-0', 'd-0']);
  });

  it('keeps a transaction within maxRecords (a larger batch still goes alone)', async () => {
    const target = fakeTarget({ reachable: true });
    const commit = new GroupCommit(target, 25, () => undefined);
    await Promise.all([
      commit.submit(batch('a', 5)),
      commit.submit(batch('b', 20)),
      commit.submit(batch('c', 10)),
      commit.submit(batch('d', 40)),
    ]);
    expect(target.transactions.map((t) => t.length)).toEqual([5, 20, 10, 40]);
  });

  it('isolates a refused batch when the database answers: the others are written', async () => {
    const target = fakeTarget({ reachable: true });
    const commit = new GroupCommit(target, 1_000, () => undefined);
    const first = commit.submit(batch('a', 2));
    const rest = [commit.submit(batch('b', 2)), commit.submit(batch('bad', 2)), commit.submit(batch('c', 2))];
    await first;
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(target.transactions).toEqual([
      ['a-0', 'a-1'],
      ['b-0', 'b-1'],
      ['c-0', 'c-1'],
    ]);
  });

  it('fails every batch of the group when the database is down (each is retried later)', async () => {
    const target = fakeTarget({ reachable: false });
    const commit = new GroupCommit(target, 1_000, () => undefined);
    const settled = await Promise.allSettled([commit.submit(batch('a', 1)), commit.submit(batch('b', 1)), commit.submit(batch('c', 1))]);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(target.transactions).toEqual([]);
  });
});
