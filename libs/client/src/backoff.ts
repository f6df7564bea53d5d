/** Reconnection settings of the SDK. */
export interface BackoffOptions {
  /** First delay ceiling, in ms (default 500). */
  initialDelayMs?: number;
  /** Largest delay ceiling, in ms (default 30 000). */
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th delay is uniform in [0, min(max, initial × 2^n)], so a fleet of agents that lost the
 * gateway at the same moment does not come back at the same moment.
 *
 * @example
 * const delay = fullJitterDelay(3, { initialDelayMs: 500, maxDelayMs: 30_000 }); // 0..4000 ms
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
