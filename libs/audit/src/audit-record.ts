import { createHash, randomBytes } from 'node:crypto';
import type { AuditActor, AuditEvent } from './audit-event.js';

/** An audit event as it travels through the queue: identified, timestamped, content hashed. */
export interface AuditRecord {
  id: string;
  timestamp: string;
  tenant_id: string | null;
  action: string;
  actor: AuditActor;
  subject: string | null;
  outcome: string;
  reason: string | null;
  session_id: string | null;
  remote_addr: string | null;
  node_id: string;
  /**
   * Sizes, ids… and, for an event that carried message content, `content_bytes` and
   * `content_sha256` (of its JSON) always, and `content` itself only when AUDIT_PAYLOADS=true.
   */
  details: Record<string, unknown>;
}

/** A record in its chain, as stored and as the admin API returns it. */
export interface ChainedAuditRecord extends AuditRecord {
  seq: number;
  prev_hash: string;
  hash: string;
}

/** `prev_hash` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The chain a record belongs to: one per tenant, and one for events without a tenant. */
export function chainKeyOf(tenantId: string | null): string {
  return tenantId ?? '';
}

let lastMs = 0;
let counter = 0;

/**
 * A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit counter
 * (method 1 of §6.2, so ids made by one process in the same millisecond still sort in creation
 * order), then randomness. Ids sort by creation time, which keeps the primary-key index
 * append-mostly and breaks timestamp ties in the order events happened.
 */
export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Turns an event into a record: id, timestamp, node, and the content's hash (and content when asked). */
export function toRecord(event: AuditEvent, nodeId: string, keepPayload: boolean): AuditRecord {
  const json = event.content === undefined ? undefined : JSON.stringify(event.content);
  const details =
    json === undefined
      ? event.details
      : {
          ...event.details,
          content_bytes: Buffer.byteLength(json),
          content_sha256: createHash('sha256').update(json).digest('hex'),
          ...(keepPayload && { content: event.content }),
        };
  return {
    id: uuidv7(),
    timestamp: event.timestamp ?? new Date().toISOString(),
    tenant_id: event.tenant_id,
    action: event.action,
    actor: event.actor,
    subject: event.subject,
    outcome: event.outcome,
    reason: event.reason,
    session_id: event.session_id,
    remote_addr: event.remote_addr,
    node_id: nodeId,
    details,
  };
}

/**
 * JSON with object keys sorted at every level: the same value always gives the same text, however
 * Postgres (JSONB) reordered it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The canonical form of a record at a position of its chain: every stored field but the hashes. */
export function canonicalRecord(record: AuditRecord, seq: number): string {
  return canonicalJson([
    seq,
    record.id,
    record.timestamp,
    record.tenant_id,
    record.action,
    record.actor.type,
    record.actor.id,
    record.subject,
    record.outcome,
    record.reason,
    record.session_id,
    record.remote_addr,
    record.node_id,
    record.details,
  ]);
}

/** A link of the chain: SHA-256 over the previous hash and the record's canonical form. */
export function chainHash(prevHash: string, record: AuditRecord, seq: number): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalRecord(record, seq)).digest('hex');
}
