import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from './backoff.js';

describe('fullJitterDelay', () => {
  it('spans [0, min(max, initial × 2^attempt)]', () => {
    expect(fullJitterDelay(0, { initialDelayMs: 500 }, () => 0)).toBe(0);
    expect(fullJitterDelay(0, { initialDelayMs: 500 }, () => 0.999999)).toBe(499);
    expect(fullJitterDelay(3, { initialDelayMs: 500 }, () => 0.999999)).toBe(3999);
    expect(fullJitterDelay(20, { initialDelayMs: 500, maxDelayMs: 30_000 }, () => 0.999999)).toBe(29_999);
  });

  it('spreads delays rather than synchronising them', () => {
    const delays = new Set(Array.from({ length: 50 }, () => fullJitterDelay(5)));
    expect(delays.size).toBeGreaterThan(40);
  });
});
