import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './audit-event.js';
import {
  GENESIS_HASH,
  RECORD_BASE_BYTES,
  canonicalJson,
  chainHash,
  estimatedRecordBytes,
  storableText,
  toRecord,
  uuidv7,
} from './audit-record.js';

const event: AuditEvent = {
  action: 'message.routed',
  tenant_id: 'acme',
  actor: { type: 'agent', id: 'a1' },
  subject: 'a2',
  outcome: 'allowed',
  reason: null,
  session_id: 's1',
  remote_addr: '10.0.0.1',
  details: { message_id: 'm1' },
  content: [{ type: 'text', text: 'secret plans' }],
};

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

describe('estimatedRecordBytes', () => {
  it('covers the serialized size of a message.routed record without content', () => {
    const routed = toRecord(
      {
        ...event,
        tenant_id: 'tenant-with-a-longish-name',
        actor: { type: 'agent', id: 'planner-agent-0123456789' },
        subject: 'search-tool-agent-0123456789',
        session_id: uuidv7(),
        remote_addr: '2001:db8:1234:5678:9abc:def0:1234:5678',
        details: { message_id: uuidv7(), conversation_id: uuidv7(), to_tenant_id: 'tenant-with-a-longish-name', expect_result: true },
      },
      'gateway-host-name-01-12345-a1b2c3',
      false,
    );
    expect(Buffer.byteLength(JSON.stringify(routed))).toBeLessThan(estimatedRecordBytes(routed));
    expect(estimatedRecordBytes(routed)).toBe(RECORD_BASE_BYTES);
  });

  it("adds the content's JSON length, as toRecord measured it, only when the record keeps the content", () => {
    const big = { ...event, content: [{ type: 'text', text: 'é'.repeat(100_000) }] };
    const kept = toRecord(big, 'n', true);
    expect(estimatedRecordBytes(kept)).toBe(RECORD_BASE_BYTES + Buffer.byteLength(JSON.stringify(big.content)));
    expect(estimatedRecordBytes(toRecord(big, 'n', false))).toBe(RECORD_BASE_BYTES);
    // The length toRecord measured is reused, not measured again.
    kept.details.content_bytes = 7;
    expect(estimatedRecordBytes(kept)).toBe(RECORD_BASE_BYTES + 7);
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
