/** The span of one partition of `audit_records` (`AUDIT_PARTITION_PERIOD`). */
export type PartitionPeriod = 'month' | 'day';

/** One range partition: `[from, to)` in UTC, named after its first day. */
export interface PartitionRange {
  name: string;
  from: Date;
  to: Date;
}

/** Name of the partition that takes what no range covers. */
export const DEFAULT_PARTITION = 'audit_records_default';

/** Names of the range partitions: `audit_records_p` and the first day, `YYYYMMDD` (UTC). */
const RANGE_PARTITION = /^audit_records_p\d{8}$/;

/** True for the name of a partition of `audit_records` (a range one or the default). */
export function isAuditPartition(name: string): boolean {
  return name === DEFAULT_PARTITION || RANGE_PARTITION.test(name);
}

/** The start (UTC midnight, first day for a month) of the period holding `at`. */
export function periodStart(at: Date, period: PartitionPeriod): Date {
  return period === 'month'
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** The start of the period after the one starting at `start`. */
export function nextPeriod(start: Date, period: PartitionPeriod): Date {
  return period === 'month'
    ? new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))
    : new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1));
}

/** The partition starting at `from`. */
export function partitionOf(from: Date, period: PartitionPeriod): PartitionRange {
  const day = from.toISOString().slice(0, 10).replaceAll('-', '');
  return { name: `audit_records_p${day}`, from, to: nextPeriod(from, period) };
}

/** The partitions that should exist at `now`: the current period's and `ahead` more. */
export function wantedPartitions(now: Date, period: PartitionPeriod, ahead: number): PartitionRange[] {
  const out: PartitionRange[] = [];
  let from = periodStart(now, period);
  for (let i = 0; i <= ahead; i++) {
    const range = partitionOf(from, period);
    out.push(range);
    from = range.to;
  }
  return out;
}

/** True when `[a.from, a.to)` and `[b.from, b.to)` share an instant. */
export function overlaps(a: { from: Date; to: Date }, b: { from: Date; to: Date }): boolean {
  return a.from < b.to && b.from < a.to;
}
