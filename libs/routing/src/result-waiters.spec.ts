import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResultEvent } from '#libs/protocol';
import { ResultWaiters } from './result-waiters.js';

const result = (conversation: string, success: boolean): ResultEvent => ({
  conversation_id: conversation,
  from_agent_id: 'b',
  success,
  metadata: {},
});

describe('ResultWaiters', () => {
  afterEach(() => vi.useRealTimers());

  it('settles a waiter once with the result, then forgets it', async () => {
    const waiters = new ResultWaiters();
    const awaited = waiters.add('a', 'c1', 10_000, () => result('c1', false));
    expect(waiters.has('a', 'c1')).toBe(true);
    expect(waiters.count('a')).toBe(1);
    expect(waiters.settle('a', 'c1', result('c1', true))).toBe(true);
    await expect(awaited).resolves.toMatchObject({ success: true });
    expect(waiters.settle('a', 'c1', result('c1', true))).toBe(false);
    expect(waiters.count('a')).toBe(0);
  });

  it('resolves with the time-out result when nothing came in time', async () => {
    vi.useFakeTimers();
    const waiters = new ResultWaiters();
    const awaited = waiters.add('a', 'c1', 500, () => result('c1', false));
    vi.advanceTimersByTime(499);
    expect(waiters.has('a', 'c1')).toBe(true);
    vi.advanceTimersByTime(1);
    await expect(awaited).resolves.toMatchObject({ success: false });
    expect(waiters.has('a', 'c1')).toBe(false);
  });

  it('keeps agents and conversations apart', () => {
    const waiters = new ResultWaiters();
    void waiters.add('a', 'c1', 10_000, () => result('c1', false));
    void waiters.add('a', 'c2', 10_000, () => result('c2', false));
    void waiters.add('b', 'c1', 10_000, () => result('c1', false));
    expect(waiters.count('a')).toBe(2);
    expect(waiters.settle('b', 'c2', result('c2', true))).toBe(false);
    expect(waiters.settle('b', 'c1', result('c1', true))).toBe(true);
    expect(waiters.count('a')).toBe(2);
  });
});
