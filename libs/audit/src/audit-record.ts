import { hash, randomFillSync } from 'node:crypto';
import { isoNow } from '#libs/protocol';
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
// Randomness drawn 4 KiB at a time: one call to the CSPRNG per 512 ids instead of one per id.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

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
  if (randomOffset + 8 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  randomPool.copy(bytes, 8, randomOffset, randomOffset + 8);
  randomOffset += 8;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * What a held record costs the in-memory buffer beyond its line (the string's header, the entry
 * that holds it), for the byte cap `AUDIT_BUFFER_MAX_BYTES`.
 */
export const RECORD_OVERHEAD_BYTES = 64;

/**
 * The most a record held in memory can weigh, for the byte cap of the in-memory buffer: two bytes
 * per character of its line (V8 keeps a string in one byte per character, or two when it holds
 * any character beyond Latin-1; content kept with `AUDIT_PAYLOADS=true` is in the line) and
 * {@link RECORD_OVERHEAD_BYTES}. An upper bound, so the cap holds whatever the text.
 */
export function heldRecordBytes(line: string): number {
  return RECORD_OVERHEAD_BYTES + 2 * line.length;
}

/** Turns an event into a record: id, timestamp, node, and the content's hash (and content when asked). */
export function toRecord(event: AuditEvent, nodeId: string, keepPayload: boolean): AuditRecord {
  return storableRecord(rawRecord(event, nodeId, keepPayload));
}

/**
 * The line of an event's record (`recordLine(toRecord(…))`), made with one serialization: JSON
 * escapes NUL and unpaired surrogates (`\u0000`, `\ud800`…), so a line without such an escape
 * holds nothing to make storable, and only a line with one is made again from a storable record.
 * `id` is the record's (a new UUIDv7 unless the caller must know it beforehand).
 */
export function eventRecordLine(event: AuditEvent, nodeId: string, keepPayload: boolean, id = uuidv7()): string {
  const raw = rawRecord(event, nodeId, keepPayload, id);
  const line = recordLine(raw);
  return ESCAPED_UNSTORABLE.test(line) ? recordLine(storableRecord(raw)) : line;
}

function rawRecord(event: AuditEvent, nodeId: string, keepPayload: boolean, id = uuidv7()): AuditRecord {
  const json = event.content === undefined ? undefined : JSON.stringify(event.content);
  const details = json === undefined ? event.details : withContent(event.details, json, keepPayload ? event.content : undefined);
  return {
    id,
    timestamp: event.timestamp ?? isoNow(),
    tenant_id: event.tenant_id,
    action: event.action,
    actor: { type: event.actor.type, id: event.actor.id },
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
 * `details` with the content's size and hash (and the content itself when kept), which take the
 * place of keys of the same name in `details`. They come first: `content…` sorts before the keys
 * events carry (`conversation_id`, `message_id`, …), so details built in sorted order stay sorted
 * and the canonical line needs no copy of them.
 */
function withContent(details: Record<string, unknown>, json: string, content: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (content !== undefined) out.content = content;
  out.content_bytes = Buffer.byteLength(json);
  out.content_sha256 = hash('sha256', json, 'hex');
  for (const key of Object.keys(details)) if (!Object.hasOwn(out, key)) assign(out, key, details[key]);
  return out;
}

/** The record with its free-text fields and details storable (see {@link storableText}). */
function storableRecord(record: AuditRecord): AuditRecord {
  return {
    ...record,
    actor: { type: record.actor.type, id: storableText(record.actor.id) },
    subject: record.subject === null ? null : storableText(record.subject),
    reason: record.reason === null ? null : storableText(record.reason),
    details: storable(record.details) as Record<string, unknown>,
  };
}

// JSON's escapes of what Postgres cannot store (JSON.stringify writes them in lowercase hex).
const ESCAPED_UNSTORABLE = /\\u(?:0000|d[89a-f])/;

// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Postgres text and JSONB refuse NUL and unpaired UTF-16 surrogates, and a record Postgres refuses
 * would be retried for ever: both become U+FFFD in what is stored (the content hash is taken
 * before, over the content as it was).
 */
export function storableText(text: string): string {
  if (!UNSTORABLE.test(text)) return text;
  return text.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATE, '\ufffd');
}

/** `value` with every string storable; the same object when nothing needed changing (the usual case). */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((inner: unknown, i) => {
      const clean = storable(inner);
      if (clean !== inner) (copy ??= [...(value as unknown[])])[i] = clean;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const cleanKey = storableText(key);
    const clean = storable(inner);
    if (clean === inner && cleanKey === key) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    if (cleanKey !== key) delete copy[key];
    copy[cleanKey] = clean;
  }
  return copy ?? value;
}

/**
 * JSON with object keys sorted at every level: the same value always gives the same text, however
 * Postgres (JSONB) reordered it.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value)) ?? 'null';
}

/**
 * `value` with the keys of every object in sorted order (and what JSON would make of `toJSON`),
 * so that one native `JSON.stringify` writes it canonically. Copy on need: an object whose keys
 * are already in order, with nothing inside to change, is returned as it is (records built in
 * canonical order, such as `message.routed`, are not copied at all). `undefined` needs nothing:
 * JSON writes it as `null` in arrays and leaves it out of objects, as the canonical form does.
 */
function sortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortedKeys((value as { toJSON: () => unknown }).toJSON());
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const inner: unknown = value[i];
      const canonical = sortedKeys(inner);
      if (canonical !== inner) (copy ??= value.slice())[i] = canonical;
    }
    return copy ?? value;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let ordered = true;
  for (let i = 1; i < keys.length && ordered; i++) ordered = keys[i - 1]! < keys[i]!;
  if (ordered) {
    let copy: Record<string, unknown> | null = null;
    for (const key of keys) {
      const inner = object[key];
      const canonical = sortedKeys(inner);
      if (canonical !== inner) (copy ??= copyOf(object, keys))[key] = canonical;
    }
    return copy ?? object;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) assign(out, key, sortedKeys(object[key]));
  return out;
}

/** A copy of `object` with its own `keys`, in that order. */
function copyOf(object: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) assign(out, key, object[key]);
  return out;
}

function assign(out: Record<string, unknown>, key: string, value: unknown): void {
  // A `__proto__` key (JSON may carry one) is data: assigned, it would set the prototype instead.
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** The stored fields of a record but its place in a chain, in the order of its canonical form. */
function fields(record: AuditRecord): unknown[] {
  return [
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
  ];
}

/**
 * A link of the chain: SHA-256 over the previous hash, `\n` and the record's canonical form, the
 * canonical JSON of `[seq, …the fields of its line]` (docs/audit.md, "Tamper evidence").
 */
export function chainHash(prevHash: string, record: AuditRecord, seq: number): string {
  return chainHashOfLine(prevHash, recordLine(record), seq);
}

/**
 * A record as it travels from its producer to the writer: the canonical JSON array of its stored
 * fields but `seq` and the hashes, made once when the event is recorded. Staging streams and queue
 * jobs carry lines as they are; the writer parses each once for its row and hashes it without
 * serializing it again: the record's canonical form is the line with `seq` put in front. A line
 * holds no raw newline (JSON escapes them), so lines join with `\n`.
 */
export function recordLine(record: AuditRecord): string {
  return canonicalJson(fields(record));
}

/** A record line and the record it holds: what the writer works on, parsed once when its job arrives. */
export interface ParsedRecordLine {
  line: string;
  record: AuditRecord;
}

export function parseRecordLine(line: string): ParsedRecordLine {
  return { line, record: fromRecordLine(line) };
}

/** The record a line holds. */
export function fromRecordLine(line: string): AuditRecord {
  const [id, timestamp, tenantId, action, actorType, actorId, subject, outcome, reason, sessionId, remoteAddr, nodeId, details] =
    JSON.parse(line) as [
      string,
      string,
      string | null,
      string,
      string,
      string,
      string | null,
      string,
      string | null,
      string | null,
      string | null,
      string,
      Record<string, unknown>,
    ];
  return {
    id,
    timestamp,
    tenant_id: tenantId,
    action,
    actor: { type: actorType as AuditRecord['actor']['type'], id: actorId },
    subject,
    outcome,
    reason,
    session_id: sessionId,
    remote_addr: remoteAddr,
    node_id: nodeId,
    details,
  };
}

/** {@link chainHash} of the record a line holds: the line is its canonical form but for `seq`. */
export function chainHashOfLine(prevHash: string, line: string, seq: number): string {
  return hash('sha256', `${prevHash}\n[${seq},${line.slice(1)}`, 'hex');
}
