/**
 * A bounded map whose entries live between `ttlMs` and twice that: two generations of plain
 * `Map`s, rotated when the younger one is `ttlMs` old or holds `maxEntries`. Every operation is
 * O(1) with no per-entry bookkeeping, which matters on the per-message path.
 */
export class TtlCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private youngSince: number;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    now = Date.now(),
  ) {
    this.youngSince = now;
  }

  set(key: string, value: V, now = Date.now()): void {
    this.rotateIfDue(now);
    this.young.set(key, value);
  }

  get(key: string, now = Date.now()): V | undefined {
    this.rotateIfDue(now);
    return this.young.get(key) ?? this.old.get(key);
  }

  /** Forgets `key` (an entry known to be stale). */
  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private rotateIfDue(now: number): void {
    const elapsed = now - this.youngSince;
    if (elapsed < this.ttlMs && this.young.size < this.maxEntries) return;
    if (elapsed >= 2 * this.ttlMs) {
      // Both generations are past their time.
      this.old = new Map();
      this.young = new Map();
      this.youngSince = now;
      return;
    }
    this.old = this.young;
    this.young = new Map();
    // Generations start on TTL boundaries, so an entry lives at most two TTLs after its generation began.
    this.youngSince = elapsed >= this.ttlMs ? this.youngSince + this.ttlMs : now;
  }
}
