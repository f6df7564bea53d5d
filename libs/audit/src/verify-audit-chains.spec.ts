import { describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/protocol';
import { GENESIS_HASH, chainHash, uuidv7, type AuditRecord, type ChainedAuditRecord } from './audit-record.js';
import type { AuditChain, AuditRepository } from './audit.repository.js';
import { VerifyAuditChains, type VerifyAuditChainsCommand, type VerifyReport } from './verify-audit-chains.js';

/**
 * Real: the walk, the hashes, the cursor codec. Faked: Postgres, by an in-memory store answering
 * the two reads the walk makes (`chains`, `chainSlice`) with the repository's semantics (chains in
 * key order from a key on; a slice after a seq, up to a seq). The same walk against the real
 * Postgres is in test/audit.e2e-spec.ts.
 */
class ChainStore {
  readonly records = new Map<string, ChainedAuditRecord[]>();
  readonly heads = new Map<string, { seq: number; hash: string }>();
  readonly anchors = new Map<string, { seq: number; hash: string }>();
  /** Runs once the heads are read: a writer appending while a call walks. */
  afterChains: (() => void) | null = null;

  /** Appends `count` correctly chained records to `key`'s chain. */
  append(key: string, count: number): void {
    const chain = this.records.get(key) ?? [];
    this.records.set(key, chain);
    for (let i = 0; i < count; i++) {
      const last = this.heads.get(key) ?? { seq: 0, hash: GENESIS_HASH };
      const record: AuditRecord = {
        id: uuidv7(),
        timestamp: new Date().toISOString(),
        tenant_id: key === '' ? null : key,
        action: 'message.routed',
        actor: { type: 'agent', id: 'sender' },
        subject: 'receiver',
        outcome: 'allowed',
        reason: null,
        session_id: null,
        remote_addr: null,
        node_id: 'node-1',
        details: { n: last.seq + 1 },
      };
      const seq = last.seq + 1;
      const hash = chainHash(last.hash, record, seq);
      chain.push({ ...record, seq, prev_hash: last.hash, hash });
      this.heads.set(key, { seq, hash });
    }
  }

  at(key: string, seq: number): ChainedAuditRecord {
    const record = this.records.get(key)?.find((r) => r.seq === seq);
    if (!record) throw new Error(`no record ${key}#${seq}`);
    return record;
  }

  remove(key: string, seq: number): void {
    this.records.set(
      key,
      (this.records.get(key) ?? []).filter((r) => r.seq !== seq),
    );
  }

  /** Retention: records up to `seq` gone, the chain anchored at the last of them. */
  purge(key: string, seq: number): void {
    this.anchors.set(key, { seq, hash: this.at(key, seq).hash });
    this.records.set(
      key,
      (this.records.get(key) ?? []).filter((r) => r.seq > seq),
    );
  }

  chains(chainKey?: string, fromChainKey?: string): Promise<AuditChain[]> {
    const keys = [...this.heads.keys()]
      .filter((k) => (chainKey === undefined || k === chainKey) && (fromChainKey === undefined || k >= fromChainKey))
      .sort();
    const chains = keys.map((chainKey) => {
      const head = this.heads.get(chainKey) ?? { seq: 0, hash: GENESIS_HASH };
      const anchor = this.anchors.get(chainKey) ?? { seq: 0, hash: GENESIS_HASH };
      return { chainKey, seq: head.seq, hash: head.hash, anchorSeq: anchor.seq, anchorHash: anchor.hash };
    });
    this.afterChains?.();
    return Promise.resolve(chains);
  }

  chainSlice(chainKey: string, afterSeq: number, limit: number, untilSeq: number): Promise<ChainedAuditRecord[]> {
    const rows = (this.records.get(chainKey) ?? []).filter((r) => r.seq > afterSeq && r.seq <= untilSeq).sort((a, b) => a.seq - b.seq);
    return Promise.resolve(rows.slice(0, limit).map((r) => structuredClone(r)));
  }
}

/** Three chains: events without a tenant, `acme` and `globex`. */
function store(): ChainStore {
  const s = new ChainStore();
  s.append('', 5);
  s.append('acme', 12);
  s.append('globex', 3);
  return s;
}

function verifier(s: ChainStore): VerifyAuditChains {
  return new VerifyAuditChains(s as unknown as AuditRepository);
}

/** Follows `next_cursor` until the walk is complete; every call's answer, in order. */
async function walk(v: VerifyAuditChains, command: Omit<VerifyAuditChainsCommand, 'cursor'>): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  let cursor: string | undefined;
  for (let call = 0; call < 100; call++) {
    const report = await v.execute({ ...command, cursor });
    reports.push(report);
    if (report.complete) return reports;
    expect(report.next_cursor).toEqual(expect.any(String));
    cursor = report.next_cursor ?? undefined;
  }
  throw new Error('the walk did not complete in 100 calls');
}

/** The verdict of a walk of several calls, comparable with one call's answer. */
function verdictOf(reports: VerifyReport[]): VerifyReport {
  const last = reports.at(-1);
  if (!last) throw new Error('no call');
  return { ...last, checked: reports.reduce((sum, r) => sum + r.checked, 0) };
}

async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}: ${error.message}` : `not a GatewayError: ${String(error)}`;
  }
  return 'accepted';
}

describe('VerifyAuditChains: bounded and resumable', () => {
  it('gives the same verdict walked in calls of a few records as in one call, over every chain or one', async () => {
    const v = verifier(store());
    const one = await v.execute({ limit: 1_000 });
    expect(one).toEqual({ ok: true, checked: 20, complete: true, next_cursor: null });
    for (const limit of [1, 3, 5, 7, 12, 19, 20]) {
      const reports = await walk(v, { limit });
      expect(verdictOf(reports), `limit ${limit}`).toEqual(one);
      for (const r of reports) expect(r.checked).toBeLessThanOrEqual(limit);
      for (const r of reports.slice(0, -1)) expect(r).toMatchObject({ ok: true, complete: false });
    }
    expect(verdictOf(await walk(v, { tenantId: 'acme', limit: 5 }))).toEqual({ ok: true, checked: 12, complete: true, next_cursor: null });
    expect(verdictOf(await walk(v, { tenantId: null, limit: 2 }))).toEqual({ ok: true, checked: 5, complete: true, next_cursor: null });
  });

  it('finds an edited, a relinked, a removed record and a removed tail in a later call, exactly as one call does', async () => {
    const cases: [string, (s: ChainStore) => void, Partial<VerifyReport>][] = [
      ['edited', (s) => (s.at('acme', 10).details = { n: 'rewritten' }), { first_bad_seq: 10, problem: 'hash_mismatch' }],
      [
        'relinked',
        (s) => {
          const r = s.at('acme', 9);
          r.prev_hash = 'f'.repeat(64);
          r.hash = chainHash(r.prev_hash, r, r.seq);
        },
        { first_bad_seq: 9, problem: 'broken_link' },
      ],
      ['removed', (s) => s.remove('acme', 8), { first_bad_seq: 8, problem: 'missing_records' }],
      ['tail removed', (s) => s.remove('acme', 12), { first_bad_seq: 12, problem: 'missing_tail' }],
    ];
    for (const [what, tamper, expected] of cases) {
      const s = store();
      tamper(s);
      const v = verifier(s);
      const one = await v.execute({ limit: 1_000 });
      expect(one, what).toMatchObject({ ok: false, complete: true, next_cursor: null, chain: 'acme', ...expected });
      for (const limit of [1, 3, 4, 6]) {
        const reports = await walk(v, { limit });
        expect(reports.length, `${what}, limit ${limit}: found in a later call`).toBeGreaterThan(1);
        expect(verdictOf(reports), `${what}, limit ${limit}`).toEqual(one);
      }
    }
  });

  it('trusts nothing in a cursor: a broken chain never passes, whatever cursor it is resumed from', async () => {
    const s = store();
    // Record 9 of acme relinked to a forged predecessor and rehashed: one walk says broken_link at 9.
    const relinked = s.at('acme', 9);
    relinked.prev_hash = 'e'.repeat(64);
    relinked.hash = chainHash(relinked.prev_hash, relinked, relinked.seq);
    const v = verifier(s);
    const [first] = await walk(v, { tenantId: 'acme', limit: 8 });
    expect(first).toMatchObject({ ok: true, checked: 8, complete: false });
    const parts = JSON.parse(Buffer.from(first?.next_cursor ?? '', 'base64url').toString('utf8')) as string[];
    expect(parts).toEqual(['audit-verify', 'acme', '8', s.at('acme', 8).hash]);
    const forge = (...p: string[]): string => Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');

    // The hash the forged record links to, put in the cursor: the walk re-reads record 8 instead.
    expect(await v.execute({ tenantId: 'acme', limit: 100, cursor: forge('audit-verify', 'acme', '8', relinked.prev_hash) })).toEqual({
      ok: false,
      checked: 0,
      complete: true,
      next_cursor: null,
      chain: 'acme',
      first_bad_seq: 8,
      first_bad_id: s.at('acme', 8).id,
      problem: 'cursor_mismatch',
    });
    // The genuine cursor: record 9 is found like in one walk.
    expect(await v.execute({ tenantId: 'acme', limit: 100, cursor: first?.next_cursor ?? '' })).toMatchObject({
      ok: false,
      first_bad_seq: 9,
      problem: 'broken_link',
    });
    // Record 8 edited after the call that checked it: found again when resuming from it.
    s.at('acme', 8).details = { n: 'rewritten' };
    expect(await v.execute({ tenantId: 'acme', limit: 100, cursor: first?.next_cursor ?? '' })).toMatchObject({
      ok: false,
      checked: 0,
      first_bad_seq: 8,
      problem: 'hash_mismatch',
    });
    // Record 8 removed after the call that checked it.
    s.remove('acme', 8);
    expect(await v.execute({ tenantId: 'acme', limit: 100, cursor: first?.next_cursor ?? '' })).toMatchObject({
      ok: false,
      first_bad_seq: 8,
      problem: 'missing_records',
    });
  });

  it('refuses cursors it did not issue for this walk with INVALID_MESSAGE before reading a record', async () => {
    const s = store();
    const v = verifier(s);
    const [first] = await walk(v, { tenantId: 'acme', limit: 3 });
    const cursor = first?.next_cursor ?? '';
    const forge = (...p: string[]): string => Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
    const invalid = 'INVALID_MESSAGE: cursor: not a cursor this API returned';
    for (const bad of [
      'eHx5',
      '!!!',
      'x'.repeat(600),
      forge('audit-verify', 'acme', '99', GENESIS_HASH), // past the head
      forge('audit-verify', 'nowhere', '1', GENESIS_HASH), // no such chain
      forge('audit-verify', 'acme', '3', 'not-a-hash'),
      forge('audit', new Date().toISOString(), uuidv7()), // the audit page's cursor
    ]) {
      expect(await refusal(v.execute({ limit: 10, cursor: bad })), bad).toBe(invalid);
    }
    // Another tenant's walk: its cursor is not this one's.
    expect(await refusal(v.execute({ tenantId: 'globex', limit: 10, cursor }))).toBe(invalid);
  });

  it('stops when its time budget is spent and resumes to the same verdict', async () => {
    const s = store();
    s.at('globex', 2).details = { n: 'rewritten' };
    let clock = 0;
    // Every reading of the clock moves it on by 6 s: past the 10 s budget after the first chain.
    const now = (): number => (clock += 6_000);
    const v = verifier(s);
    const one = await v.execute({ limit: 1_000 });
    const reports = await walk(v, { limit: 1_000, timeBudgetMs: 10_000, now });
    expect(reports.length).toBeGreaterThan(1);
    expect(reports[0]).toMatchObject({ ok: true, complete: false });
    expect(verdictOf(reports)).toEqual(one);
    expect(one).toMatchObject({ ok: false, chain: 'globex', first_bad_seq: 2, problem: 'hash_mismatch' });
  });

  it('resumes at the anchor when retention purged past the cursor, and leaves records written meanwhile to the next call', async () => {
    const s = store();
    const v = verifier(s);
    const [first] = await walk(v, { tenantId: 'acme', limit: 4 });
    s.purge('acme', 6);
    s.append('acme', 3);
    expect(verdictOf(await walk(v, { tenantId: 'acme', limit: 4 }))).toMatchObject({ ok: true, checked: 9 });
    const rest = await v.execute({ tenantId: 'acme', limit: 100, cursor: first?.next_cursor ?? '' });
    expect(rest).toEqual({ ok: true, checked: 9, complete: true, next_cursor: null });
    // A writer appending while the call walks: those records are past the head the call read.
    s.afterChains = () => s.append('acme', 2);
    expect(await v.execute({ tenantId: 'acme', limit: 100 })).toEqual({ ok: true, checked: 9, complete: true, next_cursor: null });
  });
});
