import { afterEach, describe, expect, it, vi } from 'vitest';
import { isoNow } from './clock.js';

describe('isoNow', () => {
  afterEach(() => vi.useRealTimers());

  it('is the ISO text of the current millisecond, and follows the clock', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 11, 3, 6, 0, 0, 1));
    expect(isoNow()).toBe('2026-12-03T06:00:00.001Z');
    expect(isoNow()).toBe('2026-12-03T06:00:00.001Z');
    vi.setSystemTime(Date.UTC(2026, 11, 3, 6, 0, 0, 2));
    expect(isoNow()).toBe('2026-12-03T06:00:00.002Z');
  });
});
