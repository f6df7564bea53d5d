import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { routedEvent } from '../../../test/support/audit-events.js';
import type { AuditEvent } from './audit-event.js';
import {
  GENESIS_HASH,
  RECORD_OVERHEAD_BYTES,
  canonicalJson,
  chainHash,
  chainHashOfLine,
  eventRecordLine,
  fromRecordLine,
  heldRecordBytes,
  recordLine,
  storableText,
  toRecord,
  uuidv7,
  type AuditRecord,
} from './audit-record.js';

const event: AuditEvent = routedEvent({
  session_id: 's1',
  remote_addr: '10.0.0.1',
  content: [{ type: 'text', text: 'secret plans' }],
});

describe('uuidv7', () => {
  it('is a version 7, variant 1 UUID carrying the millisecond', () => {
    const id = uuidv7(Date.UTC(2026, 0, 1));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 1));
  });

  it('sorts in creation order, also within one millisecond and past 4,096 ids in it', () => {
    const now = Date.now() + 60_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('canonicalJson', () => {
  it('gives one text for one value, whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
});

describe('toRecord', () => {
  it('keeps the content out, its size and SHA-256 in', () => {
    const record = toRecord(event, 'node-1', false);
    const json = JSON.stringify(event.content);
    expect(record.details).toEqual({
      message_id: 'm1',
      content_bytes: json.length,
      content_sha256: createHash('sha256').update(json).digest('hex'),
    });
    expect(JSON.stringify(record)).not.toContain('secret plans');
    expect(record).toMatchObject({ node_id: 'node-1', tenant_id: 'acme', actor: { type: 'agent', id: 'a1' } });
  });

  it('keeps the content when asked to', () => {
    expect(toRecord(event, 'node-1', true).details).toMatchObject({ content: event.content });
  });

  it('leaves details alone for an event without content', () => {
    const { content: _content, ...bare } = event;
    expect(toRecord(bare, 'node-1', true).details).toEqual({ message_id: 'm1' });
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps a __proto__ key as data, and writes what JSON would of undefined and toJSON', () => {
    const parsed = JSON.parse('{"b":1,"__proto__":{"y":2,"x":1},"a":[3,{"d":null,"c":"é\\u0000"}]}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1,"y":2},"a":[3,{"c":"é\\u0000","d":null}],"b":1}');
    expect(canonicalJson({ z: undefined, list: [undefined, new Date(0)] })).toBe('{"list":[null,"1970-01-01T00:00:00.000Z"]}');
    expect(canonicalJson('text')).toBe('"text"');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('copies only what is out of order, and leaves the value it was given as it was', () => {
    const inner = { z: 1, y: [{ b: 1, a: 2 }] };
    const value = { a: { c: new Date(0), d: inner }, b: [undefined, { y: 1, x: 2 }] };
    const before = JSON.stringify(value);
    expect(canonicalJson(value)).toBe('{"a":{"c":"1970-01-01T00:00:00.000Z","d":{"y":[{"a":2,"b":1}],"z":1}},"b":[null,{"x":2,"y":1}]}');
    expect(JSON.stringify(value)).toBe(before);
    expect(Object.keys(inner)).toEqual(['z', 'y']);
    // Integer-like keys enumerate first in any object; the text is the same whichever path made it.
    expect(canonicalJson({ 10: 1, 9: 2, a: 3 })).toBe('{"9":2,"10":1,"a":3}');
    expect(canonicalJson({ a: { 10: 1, 9: 2 } })).toBe('{"a":{"9":2,"10":1}}');
  });

  it('writes what a full sorted copy would, for any mix of sorted and unsorted values', () => {
    // The reference: every object rebuilt with its keys inserted in sorted order.
    const reference = (value: unknown): unknown => {
      if (value === null || typeof value !== 'object') return value;
      if (Array.isArray(value)) return value.map((v: unknown) => (v === undefined ? null : reference(v)));
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const inner = (value as Record<string, unknown>)[key];
        if (inner !== undefined) out[key] = reference(inner);
      }
      return out;
    };
    let seed = 7;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const KEYS = ['a', 'b', 'c', 'content_bytes', 'message_id', '1', '20', 'é', 'Z'];
    const make = (depth: number): unknown => {
      const kind = next(depth > 3 ? 3 : 6);
      if (kind === 0) return next(100);
      if (kind === 1) return next(2) === 0 ? null : undefined;
      if (kind === 2) return `s${next(10)}`;
      if (kind === 3) return Array.from({ length: next(4) }, () => make(depth + 1));
      const keys = KEYS.filter(() => next(2) === 0);
      if (kind === 4) keys.sort();
      return Object.fromEntries(keys.map((k) => [k, make(depth + 1)]));
    };
    for (let i = 0; i < 2_000; i++) {
      const value = make(0);
      expect(canonicalJson(value)).toBe(JSON.stringify(reference(value)) ?? 'null');
    }
  });
});

/** The hashed form of docs/audit.md, written out here as the reference the line is checked against. */
function canonicalForm(r: AuditRecord, seq: number): string {
  return canonicalJson([
    seq,
    r.id,
    r.timestamp,
    r.tenant_id,
    r.action,
    r.actor.type,
    r.actor.id,
    r.subject,
    r.outcome,
    r.reason,
    r.session_id,
    r.remote_addr,
    r.node_id,
    r.details,
  ]);
}

describe('recordLine', () => {
  const record = toRecord(
    {
      ...event,
      actor: { type: 'agent', id: 'a "quoted", agent' },
      subject: 'line\nbreak',
      details: { zeta: 1, alpha: { y: [1, null, 'x,y'], b: 'say "hi"\n' }, emoji: '🙂', when: new Date(0) },
    },
    'node-1',
    true,
  );

  it('parses back to the record, holds no raw newline, and sorts keys at every level', () => {
    const line = recordLine(record);
    expect(line).not.toContain('\n');
    expect(fromRecordLine(line)).toEqual(JSON.parse(JSON.stringify(record)));
    expect(line.indexOf('"alpha"')).toBeLessThan(line.indexOf('"zeta"'));
    expect(line).toContain('"when":"1970-01-01T00:00:00.000Z"');
  });

  it('hashed as a line, gives the chain hash of its record: SHA-256 over the previous hash and its canonical form', () => {
    const line = recordLine(record);
    for (const [prev, seq] of [
      [GENESIS_HASH, 1],
      ['f'.repeat(64), 123_456_789],
    ] as const) {
      const expected = createHash('sha256')
        .update(`${prev}\n${canonicalForm(fromRecordLine(line), seq)}`)
        .digest('hex');
      expect(chainHashOfLine(prev, line, seq)).toBe(expected);
      // What verification recomputes from a stored row (JSONB reorders keys) matches too.
      const reordered = { ...fromRecordLine(line), details: Object.fromEntries(Object.entries(fromRecordLine(line).details).reverse()) };
      expect(chainHash(prev, reordered, seq)).toBe(expected);
    }
  });
});

describe('eventRecordLine', () => {
  const withoutId = (line: string) => ({ ...fromRecordLine(line), id: '' });
  it('is the line of toRecord: storable text and details, whether or not the event held anything to make storable', () => {
    const at = { ...event, timestamp: '2026-01-01T00:00:00.000Z' };
    for (const variant of [
      at,
      { ...at, actor: { type: 'agent' as const, id: 'a\u0000b' }, reason: 'x\ud800' },
      { ...at, details: { nested: { text: ['ok', 'lone \udc00'] }, 'key\u0000': 1 } },
    ]) {
      const line = eventRecordLine(variant, 'node-1', false);
      expect(withoutId(line)).toEqual(withoutId(recordLine(toRecord(variant, 'node-1', false))));
      expect(line).not.toMatch(/\\u(0000|d[89a-f])/);
    }
    // Text that only looks like an escape is kept as it was.
    const literal = { ...at, details: { literal: 'a backslash then u0000: \\u0000' } };
    expect(fromRecordLine(eventRecordLine(literal, 'node-1', false)).details.literal).toBe(literal.details.literal);
  });
});

describe('heldRecordBytes', () => {
  it('is two bytes per character of the line and a fixed overhead, so content kept with AUDIT_PAYLOADS counts in full', () => {
    const big = { ...event, content: [{ type: 'text', text: 'x'.repeat(100_000) }] };
    const kept = recordLine(toRecord(big, 'n', true));
    const hashedOnly = recordLine(toRecord(big, 'n', false));
    expect(heldRecordBytes(kept)).toBe(RECORD_OVERHEAD_BYTES + 2 * kept.length);
    expect(heldRecordBytes(kept)).toBeGreaterThan(200_000);
    expect(heldRecordBytes(hashedOnly)).toBeLessThan(1_400);
  });
});

describe('chainHash', () => {
  const record = toRecord(event, 'node-1', false);

  it('is the same for the same record at the same place, whatever the key order of details', () => {
    const reordered = { ...record, details: Object.fromEntries(Object.entries(record.details).reverse()) };
    expect(chainHash(GENESIS_HASH, reordered, 1)).toBe(chainHash(GENESIS_HASH, record, 1));
  });

  it('changes with any field, the position and the previous hash', () => {
    const base = chainHash(GENESIS_HASH, record, 1);
    const variants = [
      chainHash(GENESIS_HASH, { ...record, outcome: 'denied' }, 1),
      chainHash(GENESIS_HASH, { ...record, actor: { type: 'agent', id: 'a9' } }, 1),
      chainHash(GENESIS_HASH, { ...record, details: { ...record.details, message_id: 'm2' } }, 1),
      chainHash(GENESIS_HASH, { ...record, timestamp: new Date(0).toISOString() }, 1),
      chainHash(GENESIS_HASH, record, 2),
      chainHash('f'.repeat(64), record, 1),
    ];
    for (const variant of variants) expect(variant).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });
});

describe('storable text', () => {
  it('replaces what Postgres refuses (NUL, unpaired surrogates) and leaves the rest alone', () => {
    expect(storableText('plain ✓ 😀')).toBe('plain ✓ 😀');
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
  });

  it('cleans every string of a record, keeping the content hash of the content as it was', () => {
    const dirty = { ...event, subject: 'to\u0000', details: { nested: ['ok', 'bad\u0000'], 'key\u0000': 1 }, content: 'c\u0000' };
    const record = toRecord(dirty, 'n', true);
    expect(record.subject).toBe('to\ufffd');
    expect(record.details).toMatchObject({ nested: ['ok', 'bad\ufffd'], 'key\ufffd': 1, content: 'c\ufffd' });
    expect(record.details.content_sha256).toBe(createHash('sha256').update(JSON.stringify('c\u0000')).digest('hex'));
    expect(dirty.details.nested[1]).toBe('bad\u0000');
  });

  it('returns the same details object when nothing needs cleaning', () => {
    const { content: _content, ...bare } = event;
    expect(toRecord(bare, 'n', false).details).toBe(bare.details);
  });
});
