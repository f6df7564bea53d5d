import { describe, expect, it } from 'vitest';
import { isDuplicateId } from './audit.repository.js';
import { isAuditPartition, nextPeriod, overlaps, partitionOf, periodStart, wantedPartitions } from './audit-partitions.js';

describe('audit partition ranges', () => {
  it('months and days start at UTC midnight, across a year end and a leap day', () => {
    expect(periodStart(new Date('2026-12-31T23:59:59.999Z'), 'month')).toEqual(new Date('2026-12-01T00:00:00Z'));
    expect(nextPeriod(new Date('2026-12-01T00:00:00Z'), 'month')).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(periodStart(new Date('2028-02-29T13:00:00Z'), 'day')).toEqual(new Date('2028-02-29T00:00:00Z'));
    expect(nextPeriod(new Date('2028-02-29T00:00:00Z'), 'day')).toEqual(new Date('2028-03-01T00:00:00Z'));
    // A time with an offset is placed by its UTC instant.
    expect(periodStart(new Date('2027-01-01T00:30:00+01:00'), 'month')).toEqual(new Date('2026-12-01T00:00:00Z'));
  });

  it('the current period and `ahead` more, named after their first day', () => {
    expect(wantedPartitions(new Date('2026-11-15T10:00:00Z'), 'month', 2)).toEqual([
      { name: 'audit_records_p20261101', from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') },
      { name: 'audit_records_p20261201', from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') },
      { name: 'audit_records_p20270101', from: new Date('2027-01-01T00:00:00Z'), to: new Date('2027-02-01T00:00:00Z') },
    ]);
    expect(wantedPartitions(new Date('2026-12-31T22:00:00Z'), 'day', 1).map((p) => p.name)).toEqual([
      'audit_records_p20261231',
      'audit_records_p20270101',
    ]);
  });

  it('overlap is half-open: adjacent ranges do not overlap', () => {
    const nov = partitionOf(new Date('2026-11-01T00:00:00Z'), 'month');
    const dec = partitionOf(new Date('2026-12-01T00:00:00Z'), 'month');
    expect(overlaps(nov, dec)).toBe(false);
    expect(overlaps(nov, partitionOf(new Date('2026-11-30T00:00:00Z'), 'day'))).toBe(true);
    expect(overlaps(dec, partitionOf(new Date('2026-11-30T00:00:00Z'), 'day'))).toBe(false);
  });

  it('only the gateway’s own partition names are partitions it may drop', () => {
    expect(isAuditPartition('audit_records_p20261201')).toBe(true);
    expect(isAuditPartition('audit_records_default')).toBe(true);
    expect(isAuditPartition('audit_records_p2026120')).toBe(false);
    expect(isAuditPartition('audit_records_p20261201"; DROP TABLE x; --')).toBe(false);
    expect(isAuditPartition('audit_chain_heads')).toBe(false);
  });

  it('a duplicate is the primary key of the table or of one of its partitions, nothing else', () => {
    expect(isDuplicateId({ code: '23505', constraint: 'audit_records_pkey' })).toBe(true);
    expect(isDuplicateId({ code: '23505', constraint: 'audit_records_p20261201_pkey', table: 'audit_records_p20261201' })).toBe(true);
    expect(isDuplicateId({ code: '23505', constraint: 'audit_records_default_pkey', table: 'audit_records_default' })).toBe(true);
    // The chain position colliding is not a retried record: it must fail, not be skipped.
    expect(
      isDuplicateId({ code: '23505', constraint: 'audit_records_p20261201_chain_key_seq_timestamp_key', table: 'audit_records_p20261201' }),
    ).toBe(false);
    expect(isDuplicateId({ code: '23505', constraint: 'tenants_pkey', table: 'tenants' })).toBe(false);
    expect(isDuplicateId({ code: '23503', constraint: 'audit_records_p20261201_pkey', table: 'audit_records_p20261201' })).toBe(false);
  });
});
