import { describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/protocol';
import { SLOTS_REFRESH_INTERVAL_MS } from '#libs/redis';
import { DIRECTORY_RETRY_MS, directoryRead } from './directory-read.js';

/** A read that fails its first `failures` calls with a Redis-like error, then answers `value`. */
function flaky<T>(failures: number, value: T): { read: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    read: () => (++calls <= failures ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve(value)),
    calls: () => calls,
  };
}

describe('directoryRead', () => {
  it('answers at once when the read succeeds', async () => {
    const r = flaky(0, ['a']);
    await expect(directoryRead(r.read, [5, 5])).resolves.toEqual(['a']);
    expect(r.calls()).toBe(1);
  });

  it.each([
    { case: 'one failed read (a cluster client re-learning its slots)', failures: 1, retryMs: [20, 200], waited: 15 },
    {
      case: 'a second failed read after the longer wait (auto-pipelined reads until the slot map refresh)',
      failures: 2,
      retryMs: [5, 40],
      waited: 40,
    },
  ])('rides out $case', async ({ failures, retryMs, waited }) => {
    const r = flaky(failures, ['a']);
    const started = performance.now();
    await expect(directoryRead(r.read, retryMs)).resolves.toEqual(['a']);
    expect(r.calls()).toBe(failures + 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(waited);
  });

  it('is UNAVAILABLE when every retry fails too, with the cause kept', async () => {
    const r = flaky(3, ['a']);
    const error = (await directoryRead(r.read, [5, 5]).catch((e: unknown) => e)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe('UNAVAILABLE');
    expect((error.cause as Error).message).toBe('Connection is closed.');
    expect(r.calls()).toBe(3);
  });

  it('waits the default retries of a Redis Cluster failover: a short one, then one slot map refresh', () => {
    expect(DIRECTORY_RETRY_MS).toEqual([300, SLOTS_REFRESH_INTERVAL_MS]);
  });

  it("passes the read's own GatewayError through without a retry", async () => {
    let calls = 0;
    const read = (): Promise<never> => {
      calls++;
      return Promise.reject(new GatewayError('AGENT_NOT_FOUND', 'no such agent'));
    };
    await expect(directoryRead(read, [5, 5])).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(calls).toBe(1);
  });
});
