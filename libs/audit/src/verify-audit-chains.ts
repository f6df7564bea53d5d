import { Injectable } from '@nestjs/common';
import { CURSOR_KEYS, CURSOR_REFUSAL, GatewayError, TENANT_ID_PATTERN, cursorCodec, textCursorKey } from '#libs/protocol';
import { GENESIS_HASH, chainHash, chainKeyOf, type ChainedAuditRecord } from './audit-record.js';
import { AuditRepository, type AuditChain } from './audit.repository.js';

/** Records checked by one call when the caller names no `limit`. */
export const VERIFY_DEFAULT_LIMIT = 100_000;
/** The most records one call checks, whatever the caller asks. */
export const VERIFY_MAX_LIMIT = 1_000_000;
/** After this long a call stops at the next read and hands back a cursor, however few records it checked. */
export const VERIFY_TIME_BUDGET_MS = 10_000;
/** Records read per query. */
const VERIFY_CHUNK = 5_000;

/** A chain key: a tenant id, or '' for the events without a tenant. */
const CHAIN_KEY = textCursorKey(new RegExp(`^$|${TENANT_ID_PATTERN.source}`));

/** Where a walk stopped: the chain, the last record checked (`seq`) and that record's hash. */
const VERIFY_CURSOR = cursorCodec('audit-verify', CHAIN_KEY, CURSOR_KEYS.sequence, CURSOR_KEYS.sha256);

/** What is wrong at the first bad place of a chain. */
export type VerifyProblem = 'hash_mismatch' | 'broken_link' | 'missing_records' | 'missing_tail' | 'cursor_mismatch';

/** What `GET /admin/v1/audit/verify` answers. */
export interface VerifyReport {
  /** No problem found in what was checked so far; the verdict is final once `complete`. */
  ok: boolean;
  /** Records checked by this call. */
  checked: number;
  /** True when the walk reached the head of every chain or stopped at a problem. */
  complete: boolean;
  /** Where the next call resumes (pass it as `cursor`); null once `complete`. */
  next_cursor: string | null;
  /** The first record that does not fit its chain (edited, or following a removed one). */
  first_bad_id?: string;
  /** The chain (tenant id, or '' for events without a tenant) and position of the first problem. */
  chain?: string;
  first_bad_seq?: number;
  problem?: VerifyProblem;
}

/** One call of the chain check. */
export interface VerifyAuditChainsCommand {
  /** One tenant's chain (null: the chain of events without a tenant); every chain when undefined. */
  tenantId?: string | null | undefined;
  /** At most this many records are checked (1 to {@link VERIFY_MAX_LIMIT}). */
  limit: number;
  /** The `next_cursor` of the previous call of the same walk. */
  cursor?: string | undefined;
  /** How long this call may read before it hands back a cursor ({@link VERIFY_TIME_BUDGET_MS}). */
  timeBudgetMs?: number;
  /** The clock the time budget is measured on (tests step it). */
  now?: () => number;
}

/** A position in a chain: the last record checked, or the chain's start (its anchor, or genesis). */
interface Position {
  seq: number;
  hash: string;
}

/**
 * The tamper-evidence check, bounded and resumable. Each chain is walked from its anchor (its
 * start, or where retention cut it) to the head read when the call began: every record must have
 * the next sequence number, link to the previous hash, and hash to what it stores. A call stops at
 * the first record that does not, at `limit` records, or after its time budget; in the last two
 * cases it answers `complete: false` and a cursor naming the chain, the last record checked and its
 * hash.
 *
 * The cursor is not signed, so nothing in it is trusted: resuming re-reads that record, which
 * must still be there with the cursor's hash and still hash correctly, and the walk continues from
 * the hash stored in Postgres. A cursor altered to skip a broken record therefore either names a
 * record that is not what it says (`cursor_mismatch`) or one whose successor then fails like it
 * would in one walk. What a hand-made cursor can do is start a walk later than the beginning, like
 * `tenant_id` narrows it: `ok` speaks for the records walked since the call without a cursor.
 */
@Injectable()
export class VerifyAuditChains {
  constructor(private readonly audit: AuditRepository) {}

  async execute(command: VerifyAuditChainsCommand): Promise<VerifyReport> {
    const now = command.now ?? Date.now;
    const deadline = now() + (command.timeBudgetMs ?? VERIFY_TIME_BUDGET_MS);
    const resume = VERIFY_CURSOR.decode(command.cursor);
    const only = command.tenantId === undefined ? undefined : chainKeyOf(command.tenantId);
    // A cursor of another tenant's walk is not this walk's (and would read another tenant's chain).
    if (resume && only !== undefined && resume[0] !== only) throw new GatewayError('INVALID_MESSAGE', CURSOR_REFUSAL);
    const chains = await this.audit.chains(only, resume?.[0]);
    if (resume && chains[0]?.chainKey !== resume[0]) throw new GatewayError('INVALID_MESSAGE', CURSOR_REFUSAL);

    let checked = 0;
    const report = (problem: Omit<VerifyReport, 'ok' | 'checked' | 'complete' | 'next_cursor'>): VerifyReport => ({
      ok: false,
      checked,
      complete: true,
      next_cursor: null,
      ...problem,
    });
    for (const [index, chain] of chains.entries()) {
      let position = startOf(chain);
      if (index === 0 && resume) {
        const resumed = await this.resumeAt(chain, resume[1], resume[2], report);
        if ('ok' in resumed) return resumed;
        position = resumed;
      }
      for (;;) {
        // The head as read when the call began: records written meanwhile are the next call's.
        if (position.seq >= chain.seq) break;
        if (checked >= command.limit || now() >= deadline) {
          const at = position.seq === chain.anchorSeq ? { seq: chain.anchorSeq, hash: GENESIS_HASH } : position;
          return { ok: true, checked, complete: false, next_cursor: VERIFY_CURSOR.encode(chain.chainKey, at.seq, at.hash) };
        }
        const want = Math.min(VERIFY_CHUNK, command.limit - checked);
        const slice = await this.audit.chainSlice(chain.chainKey, position.seq, want, chain.seq);
        for (const record of slice) {
          const problem = problemOf(record, position);
          if (problem) return report({ first_bad_id: record.id, chain: chain.chainKey, first_bad_seq: position.seq + 1, problem });
          position = { seq: record.seq, hash: record.hash };
          checked++;
        }
        if (slice.length < want) break;
      }
      // Records removed at the end: the head knows how far the chain went.
      if (position.seq < chain.seq || position.hash !== chain.hash)
        return report({ chain: chain.chainKey, first_bad_seq: position.seq + 1, problem: 'missing_tail' });
    }
    return { ok: true, checked, complete: true, next_cursor: null };
  }

  /**
   * The position a cursor stands for, re-read from Postgres: the record must still be there, carry
   * the cursor's hash and hash correctly. A cursor at or before the chain's anchor (retention has
   * purged past it since) resumes at the anchor, as a walk from the start would.
   */
  private async resumeAt(
    chain: AuditChain,
    seq: number,
    hash: string,
    report: (problem: Omit<VerifyReport, 'ok' | 'checked' | 'complete' | 'next_cursor'>) => VerifyReport,
  ): Promise<Position | VerifyReport> {
    if (seq <= chain.anchorSeq) return startOf(chain);
    // Heads only move forward: a position past the head was never handed out.
    if (seq > chain.seq) throw new GatewayError('INVALID_MESSAGE', CURSOR_REFUSAL);
    const [record] = await this.audit.chainSlice(chain.chainKey, seq - 1, 1, seq);
    const at = { chain: chain.chainKey, first_bad_seq: seq };
    if (record?.seq !== seq) return report({ ...at, problem: 'missing_records' });
    if (record.hash !== hash) return report({ ...at, first_bad_id: record.id, problem: 'cursor_mismatch' });
    if (chainHash(record.prev_hash, record, record.seq) !== record.hash)
      return report({ ...at, first_bad_id: record.id, problem: 'hash_mismatch' });
    return { seq, hash: record.hash };
  }
}

function startOf(chain: AuditChain): Position {
  return { seq: chain.anchorSeq, hash: chain.anchorSeq === 0 ? GENESIS_HASH : chain.anchorHash };
}

/** What is wrong with the record after `previous`, if anything. */
function problemOf(record: ChainedAuditRecord, previous: Position): VerifyProblem | null {
  if (record.seq !== previous.seq + 1) return 'missing_records';
  if (record.prev_hash !== previous.hash) return 'broken_link';
  if (chainHash(previous.hash, record, record.seq) !== record.hash) return 'hash_mismatch';
  return null;
}
