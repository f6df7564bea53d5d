import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('keeps entries at least the TTL and drops them by twice the TTL', () => {
    const cache = new TtlCache<string>(1_000, 10, 0);
    cache.set('a', 'x', 0);
    expect(cache.get('a', 999)).toBe('x');
    expect(cache.get('a', 1_500)).toBe('x');
    expect(cache.get('a', 2_000)).toBeUndefined();
  });

  it('drops everything after a long idle period', () => {
    const cache = new TtlCache<string>(1_000, 10, 0);
    cache.set('a', 'x', 0);
    expect(cache.get('a', 5_000)).toBeUndefined();
  });

  it('stays bounded: a full generation rotates early', () => {
    const cache = new TtlCache<number>(60_000, 2, 0);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i, 1);
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.get('k9', 1)).toBe(9);
    expect(cache.get('k0', 1)).toBeUndefined();
  });
});
