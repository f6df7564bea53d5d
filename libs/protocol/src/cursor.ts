import { GatewayError } from './errors.js';
import { AGENT_ID_PATTERN, TENANT_ID_PATTERN } from './identifiers.js';

/**
 * The longest cursor any list accepts. The longest one issued (the audit chain check's: a tenant
 * id, a sequence number and a SHA-256) is about 230 characters.
 */
export const MAX_CURSOR_LENGTH = 512;

/** The one refusal of a cursor, whatever is wrong with it: nothing about its content is echoed. */
export const CURSOR_REFUSAL = 'cursor: not a cursor this API returned';

/**
 * One component of a list's sort key as a cursor carries it: how it is written and how it is read
 * back. `parse` answers `undefined` for any text `format` never writes, so what a cursor yields
 * has been validated as strictly as the column it is compared with.
 */
export interface CursorKey<T> {
  format(value: T): string;
  parse(text: string): T | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SEQUENCE = /^(0|[1-9][0-9]{0,15})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A key that is a string matching `pattern`. */
export function textCursorKey(pattern: RegExp): CursorKey<string> {
  return { format: (value) => value, parse: (text) => (pattern.test(text) ? text : undefined) };
}

/** The key components the lists of the admin API sort by. */
export const CURSOR_KEYS = {
  /** A UUID as Postgres writes it (lowercase). */
  uuid: textCursorKey(UUID),
  agentId: textCursorKey(AGENT_ID_PATTERN),
  tenantId: textCursorKey(TENANT_ID_PATTERN),
  /** An instant with millisecond precision (the precision of every timestamp column). */
  timestamp: {
    format: (value: Date) => value.toISOString(),
    parse: (text: string) => {
      if (!ISO_UTC.test(text)) return undefined;
      const at = new Date(text);
      return Number.isNaN(at.getTime()) || at.toISOString() !== text ? undefined : at;
    },
  } satisfies CursorKey<Date>,
  /** A position in a sequence: a non-negative safe integer. */
  sequence: {
    format: (value: number) => String(value),
    parse: (text: string) => {
      if (!SEQUENCE.test(text)) return undefined;
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : undefined;
    },
  } satisfies CursorKey<number>,
  /** A SHA-256 digest in lowercase hex. */
  sha256: textCursorKey(SHA256_HEX),
};

type KeyValues<K extends readonly CursorKey<unknown>[]> = { -readonly [I in keyof K]: K[I] extends CursorKey<infer T> ? T : never };

/**
 * The cursor of one list: the list's name and its sort key, as JSON, in base64url. Clients treat
 * it as opaque. It is not signed: a client may write one by hand, and that is harmless, because
 * {@link CursorCodec.decode} accepts only the exact text {@link CursorCodec.encode} writes for
 * some valid key of this list; a cursor of another list, a key that does not validate, a second
 * spelling of the same bytes or anything longer than {@link MAX_CURSOR_LENGTH} is
 * `INVALID_MESSAGE` before anything reaches a database.
 *
 * @example
 * const TOKENS = cursorCodec('tokens', CURSOR_KEYS.uuid);
 * const next = TOKENS.encode(lastRow.id);
 * const [after] = TOKENS.decode(query.cursor) ?? [];
 */
export class CursorCodec<V extends readonly unknown[]> {
  private readonly keys: readonly CursorKey<unknown>[];

  constructor(
    /** Which list issued the cursor: a cursor of one list is refused by every other. */
    readonly list: string,
    keys: readonly CursorKey<unknown>[],
  ) {
    this.keys = keys;
  }

  /** The cursor of the position after `values`. Throws (a bug, not a client error) on a key that would not decode. */
  encode(...values: V): string {
    if (values.length !== this.keys.length) throw new Error(`cursor of ${this.list}: ${this.keys.length} key parts expected`);
    const texts = this.keys.map((key, i) => {
      const text = key.format(values[i]);
      if (key.parse(text) === undefined) throw new Error(`cursor of ${this.list}: key part ${i} does not validate`);
      return text;
    });
    return Buffer.from(JSON.stringify([this.list, ...texts]), 'utf8').toString('base64url');
  }

  /** The key a cursor stands for; `undefined` for no cursor; `INVALID_MESSAGE` for one this codec did not issue. */
  decode(cursor: string | undefined): V | undefined {
    if (cursor === undefined) return undefined;
    const values = this.read(cursor);
    if (values === undefined) throw new GatewayError('INVALID_MESSAGE', CURSOR_REFUSAL);
    return values;
  }

  private read(cursor: string): V | undefined {
    if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return undefined;
    let parts: unknown;
    try {
      parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(parts) || parts.length !== this.keys.length + 1 || parts[0] !== this.list) return undefined;
    const values: unknown[] = [];
    for (const [i, key] of this.keys.entries()) {
      const text: unknown = parts[i + 1];
      const value = typeof text === 'string' ? key.parse(text) : undefined;
      if (value === undefined) return undefined;
      values.push(value);
    }
    // Only the very text this codec writes: base64url and JSON both have other spellings of the same key.
    return this.encode(...(values as unknown as V)) === cursor ? (values as unknown as V) : undefined;
  }
}

/** The codec of a list sorted by `keys` (most significant first). */
export function cursorCodec<const K extends readonly CursorKey<unknown>[]>(list: string, ...keys: K): CursorCodec<KeyValues<K>> {
  return new CursorCodec<KeyValues<K>>(list, keys);
}
