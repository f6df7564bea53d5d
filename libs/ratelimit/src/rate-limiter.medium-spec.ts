import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '#libs/protocol';
import { waitFor } from '../../../test/support/agents.js';
import { uniqueId } from '../../../test/support/env.js';
import { capturedLogs, startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { MetricsService } from '#libs/observability';
import { RateLimitModule } from './ratelimit.module.js';
import { RateLimitConfigService } from './rate-limit-config.service.js';
import { resolveConnectLimit } from './rate-limit.document.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { TokenBucketRepository } from './token-bucket.repository.js';

// Real: RateLimiterService with its leases, TokenBucketRepository (the Lua token bucket on its own
// fail-fast connection) and RateLimitConfigService, booted as the production RateLimitModule inside
// ProcessModule (Postgres: the medium database; the audit producer; the metrics), one or two such
// "nodes" (different NODE_IDs) sharing one private redis-server and key prefix, which the test
// watches with MONITOR and stops for the failure modes. Faked: nothing; the limiter is called
// directly, as the rate-limit guard calls it. Limits come from RATE_LIMIT_DEFAULTS.
const TENANT = 'medium-rl';
const LEASE_WINDOW_MS = 10; // the limiter's own constants (rate-limiter.service.ts): lease size and refusal hold
const LEASE_MAX_AGE_MS = 100; // the longest a lease of tokens lives

type Outcome = 'admitted' | 'limited';

/** One counted event; RATE_LIMIT is an outcome, anything else fails the test. */
async function consume(limiter: RateLimiterService, agentId: string): Promise<Outcome> {
  try {
    await limiter.consumeMessage(TENANT, agentId);
    return 'admitted';
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'RATE_LIMIT') return 'limited';
    throw error;
  }
}

/**
 * The counted events of one agent: when each was offered and what became of it, spread over the
 * limiters ("nodes") in turn.
 */
class Load {
  private readonly arrivals: number[] = [];
  private readonly answered: number[] = [];
  private readonly outcomes: Promise<Outcome>[] = [];

  constructor(
    private readonly limiters: RateLimiterService[],
    private readonly agentId: string,
  ) {}

  private fire(): void {
    const i = this.outcomes.length;
    this.arrivals.push(performance.now());
    this.outcomes.push(
      consume(this.limiters[i % this.limiters.length]!, this.agentId).finally(() => (this.answered[i] = performance.now())),
    );
  }

  /** `n` events at once; resolves with how many of them were admitted. */
  async burst(n: number): Promise<number> {
    const from = this.outcomes.length;
    for (let i = 0; i < n; i++) this.fire();
    return (await Promise.all(this.outcomes.slice(from))).filter((o) => o === 'admitted').length;
  }

  /** `perSecond` events for `ms`, paced in steps of about 2 ms (as many as are due at each step). */
  async offer(perSecond: number, ms: number): Promise<{ offered: number; admitted: number }> {
    const from = this.outcomes.length;
    const started = performance.now();
    for (let now = started; now - started < ms; now = performance.now()) {
      const due = Math.floor((perSecond * (now - started)) / 1000) - (this.outcomes.length - from);
      for (let i = 0; i < due; i++) this.fire();
      await new Promise((r) => setTimeout(r, 2));
    }
    const settled = await Promise.all(this.outcomes.slice(from));
    return { offered: settled.length, admitted: settled.filter((o) => o === 'admitted').length };
  }

  async admitted(): Promise<number> {
    return (await Promise.all(this.outcomes)).filter((o) => o === 'admitted').length;
  }

  /**
   * What one strict token bucket, full when the first event was offered, admits of the same events
   * asked at the moment each was answered (events queued behind a trip see its refill, as they do
   * in the limiter).
   */
  strict(rate: number, burst: number): number {
    let tokens = burst;
    let last = this.arrivals[0] ?? 0;
    let admitted = 0;
    for (const t of [...this.answered].sort((a, b) => a - b)) {
      tokens = Math.min(burst, tokens + ((t - last) * rate) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        admitted++;
      }
    }
    return admitted;
  }
}

/** Counts the token-bucket script calls Redis executes per bucket, with MONITOR. */
class TripCounter {
  private readonly calls = new Map<string, number>();
  private readonly markers = new Set<string>();
  private monitor: Redis | null = null;
  private readonly client: Redis;
  private readonly source: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.client = new Redis(url);
    this.source = new Redis(url, { lazyConnect: true });
  }

  async start(): Promise<void> {
    this.monitor = await this.source.monitor();
    this.monitor.on('monitor', (_time: string, args: string[]) => {
      const [command = '', , , key = ''] = args;
      if (command.toLowerCase() === 'echo' && args[1]) this.markers.add(args[1]);
      if ((command.toLowerCase() === 'evalsha' || command.toLowerCase() === 'eval') && key.startsWith(`${this.prefix}rl:`)) {
        this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
      }
    });
  }

  /** Trips to the bucket of `agentId` so far: every command sent before this call has been seen. */
  async trips(agentId: string): Promise<number> {
    const marker = `barrier-${randomBytes(6).toString('hex')}`;
    await this.client.echo(marker);
    await waitFor(() => this.markers.has(marker), 5_000, 'MONITOR to catch up');
    // The agent's bucket is under its tenant's hash tag: `rl:{t:<tenant>}:m:<agent>`.
    let trips = 0;
    for (const [key, n] of this.calls) if (key.endsWith(`}:m:${agentId}`)) trips += n;
    return trips;
  }

  stop(): void {
    this.monitor?.disconnect();
    this.source.disconnect();
    this.client.disconnect();
  }
}

describe.each([
  { rate: 1000, burstSize: 200 },
  { rate: 5000, burstSize: 1000 },
])('shared buckets with per-node leases at $rate msgs/s (burst $burstSize)', ({ rate, burstSize }) => {
  const lease = (rate * LEASE_WINDOW_MS) / 1000; // tokens a node takes per trip: 10, 50
  let redis: TestRedis;
  let counter: TripCounter;
  let nodes: MediumNode[];
  let one: RateLimiterService;
  let two: RateLimiterService;
  const prefix = `medium-rl-${rate}:`;
  // Calls of the node's TokenBucketRepository.take (one script call each), counted as they are made.
  const spies = new Map<MediumNode, { mock: { calls: unknown[] } }>();
  const takes = (node: MediumNode): number => spies.get(node)?.mock.calls.length ?? 0;

  beforeAll(async () => {
    redis = await startTestRedis();
    counter = new TripCounter(redis.url, prefix);
    await counter.start();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_DEFAULTS: JSON.stringify({ messages_per_second: rate, burst: burstSize }),
    };
    nodes = await Promise.all(['rl-1', 'rl-2'].map((id) => startMediumNode(() => RateLimitModule, { ...env, NODE_ID: id })));
    [one, two] = nodes.map((node) => node.get(RateLimiterService)) as [RateLimiterService, RateLimiterService];
    for (const node of nodes) spies.set(node, vi.spyOn(node.get(TokenBucketRepository), 'take'));
  });

  afterAll(async () => {
    counter?.stop();
    await Promise.all((nodes ?? []).map((node) => node.close()));
    await redis?.destroy();
  });

  it('one node: a burst admits the bucket, then a sustained run over the rate admits the rate, within the lease tolerance, in few round trips', async () => {
    const agent = uniqueId('agent');
    const load = new Load([one], agent);
    const started = performance.now();
    const first = await load.burst(burstSize * 3);
    // Tokens are taken from the shared bucket before they are spent: never more than the burst
    // plus what refilled while the burst ran, never less than the burst.
    expect(first).toBeGreaterThanOrEqual(burstSize);
    expect(first).toBeLessThanOrEqual(burstSize + Math.ceil((rate * (performance.now() - started)) / 1000) + 1);
    const burstTrips = await counter.trips(agent);
    // About one trip per lease (rate × 10 ms tokens), not one per event.
    expect(burstTrips / first).toBeLessThan(3 / lease);

    // Twice the rate for a second. Upper bound, the limit itself: what a strict bucket admits of
    // the same events, plus at most the one node's lease (rate × 10 ms). Lower bound: leases that
    // lapse unused (the sender stalls past 10 ms with tokens in hand) and held refusals each cost up
    // to a lease, so "about the rate": 90 % of the strict bucket, less a lease.
    const run = await load.offer(rate * 2, 1_000);
    const strict = load.strict(rate, burstSize);
    const admitted = await load.admitted();
    expect(admitted).toBeLessThanOrEqual(strict + lease + 1);
    expect(admitted).toBeGreaterThanOrEqual(strict * 0.9 - lease);
    // Over the limit, a node asks Redis about twice per lease window (a lease, then a refusal it
    // holds for the window), not once per event.
    const runTrips = (await counter.trips(agent)) - burstTrips;
    expect(runTrips / run.admitted).toBeLessThan(4 / lease);
  });

  it('two nodes sharing one bucket together stay within it', async () => {
    const agent = uniqueId('agent');
    const load = new Load([one, two], agent);
    const started = performance.now();
    const first = await load.burst(burstSize * 3);
    expect(first).toBeGreaterThanOrEqual(burstSize);
    expect(first).toBeLessThanOrEqual(burstSize + Math.ceil((rate * (performance.now() - started)) / 1000) + 2 * lease);
    // Each node offers the rate: twice the limit together. Within the strict bucket plus both
    // nodes' leases; about the rate from below (as above, for two nodes).
    const run = await load.offer(rate * 2, 1_000);
    expect(run.offered).toBeGreaterThan(rate * 1.8);
    const strict = load.strict(rate, burstSize);
    const admitted = await load.admitted();
    expect(admitted).toBeLessThanOrEqual(strict + 2 * lease + 1);
    expect(admitted).toBeGreaterThanOrEqual(strict * 0.9 - 2 * lease);
  });

  it('below the rate: every event is admitted, in well under one round trip each', async () => {
    const agent = uniqueId('agent');
    const run = await new Load([one], agent).offer(rate * 0.8, 1_000);
    expect(run.admitted).toBe(run.offered);
    expect(run.offered).toBeGreaterThan(rate * 0.7);
    // One trip per lease (what the rate allows in 10 ms) while the demand lasts.
    expect((await counter.trips(agent)) / run.admitted).toBeLessThan(2 / lease);
  });

  it('connects from one address at once: each attempt its own trip, all in flight together, exactly the limit admitted', async () => {
    const perMinute = resolveConnectLimit(nodes[0]!.get(RateLimitConfigService).current, nodes[0]!.get(RateLimitConfigService).defaults);
    const address = `10.${randomBytes(3).join('.')}`;
    const before = takes(nodes[0]!);
    const attempts = Array.from({ length: perMinute + 40 }, () =>
      one.consumeConnect(address).then(
        () => 'admitted' as const,
        (error: unknown) => {
          if (error instanceof GatewayError && error.code === 'RATE_LIMIT') return 'limited' as const;
          throw error;
        },
      ),
    );
    // Every attempt has asked Redis before any answer came back: none waits behind another's trip.
    expect(takes(nodes[0]!) - before).toBe(attempts.length);
    const outcomes = await Promise.all(attempts);
    // The bucket holds perMinute and refills one token a second: the limit, or one more had a second passed.
    const admitted = outcomes.filter((o) => o === 'admitted').length;
    expect(admitted).toBeGreaterThanOrEqual(perMinute);
    expect(admitted).toBeLessThanOrEqual(perMinute + 1);
  });

  it('far below the rate: a lease lasts until spent or LEASE_MAX_AGE_MS, not 10 ms', async () => {
    const agent = uniqueId('agent');
    // 5 % of the rate: a 10 ms lease would lapse after one or two events, costing a trip each.
    const run = await new Load([one], agent).offer(rate * 0.05, 1_000);
    expect(run.admitted).toBe(run.offered);
    const perSecond = 1000 / LEASE_MAX_AGE_MS;
    expect(await counter.trips(agent)).toBeLessThanOrEqual(Math.ceil(run.admitted / lease) + perSecond + 1);
    expect((await counter.trips(agent)) / run.admitted).toBeLessThan(0.5);
  });

  it('a refused trip is held for the window: the node refuses without asking again, then asks', async () => {
    // The hold lasts 10 ms: a run where this process stalled for longer between the refusal and the
    // next event (GC, a busy CI machine) proves nothing either way and is tried again, on a fresh agent.
    for (let attempt = 1; ; attempt++) {
      const agent = uniqueId('agent');
      await new Load([one], agent).burst(burstSize * 2);
      // Until a trip is refused (the burst may have ended on a lease).
      let last: Outcome = 'admitted';
      for (let i = 0; i < burstSize && last === 'admitted'; i++) last = await consume(one, agent);
      expect(last).toBe('limited');
      const refusedAt = performance.now();
      const before = takes(nodes[0]!);
      // Straight after: refused from the node's memory, told to wait at most the window.
      const held = await one.consumeMessage(TENANT, agent).then(
        () => null,
        (e: unknown) => e,
      );
      if (performance.now() - refusedAt >= LEASE_WINDOW_MS / 2 && attempt < 5) continue;
      expect(held).toMatchObject({ code: 'RATE_LIMIT', retryAfterMs: expect.any(Number) });
      expect((held as GatewayError).retryAfterMs).toBeLessThanOrEqual(LEASE_WINDOW_MS);
      expect(takes(nodes[0]!)).toBe(before);
      // Time is the point: past the window the node asks Redis again, and the refill is there.
      await new Promise((r) => setTimeout(r, LEASE_WINDOW_MS * 3));
      expect(await consume(one, agent)).toBe('admitted');
      expect(takes(nodes[0]!)).toBe(before + 1);
      return;
    }
  });

  it('a lease serves the node until spent or LEASE_MAX_AGE_MS, then the next event goes to Redis', async () => {
    const agent = uniqueId('agent');
    const before = takes(nodes[0]!);
    expect(await consume(one, agent)).toBe('admitted');
    expect(takes(nodes[0]!)).toBe(before + 1);
    // The rest of the lease, at once (within the window): no trip.
    const rest = await Promise.all(Array.from({ length: lease - 1 }, () => consume(one, agent)));
    expect(rest.every((o) => o === 'admitted')).toBe(true);
    expect(takes(nodes[0]!)).toBe(before + 1);
    // Spent: the next event takes a new lease.
    expect(await consume(one, agent)).toBe('admitted');
    expect(takes(nodes[0]!)).toBe(before + 2);
    // Time is the point here: the new lease (lease - 1 tokens left) lives until spent or for at
    // most LEASE_MAX_AGE_MS; within it, the next event still takes from it; past it, from Redis.
    await new Promise((r) => setTimeout(r, LEASE_WINDOW_MS * 3));
    expect(await consume(one, agent)).toBe('admitted');
    expect(takes(nodes[0]!)).toBe(before + 2);
    await new Promise((r) => setTimeout(r, LEASE_MAX_AGE_MS + 20));
    expect(await consume(one, agent)).toBe('admitted');
    expect(takes(nodes[0]!)).toBe(before + 3);
    // Redis saw exactly those trips, and none from the other node, which holds no lease of this agent.
    expect(await counter.trips(agent)).toBe(3);
    expect(await consume(two, agent)).toBe('admitted');
    expect(await counter.trips(agent)).toBe(4);
  });
});

describe('RATE_LIMIT_FAILURE_MODE while the private Redis is stopped', () => {
  const logs = capturedLogs();
  const rate = 1000;
  const burstSize = 200;
  let redis: TestRedis;
  const nodes: MediumNode[] = [];
  const start = async (mode: 'open' | 'closed') => {
    const node = await startMediumNode(() => RateLimitModule, {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `medium-rl-${mode}:`,
      NODE_ID: `rl-${mode}`,
      RATE_LIMIT_FAILURE_MODE: mode,
      RATE_LIMIT_DEFAULTS: JSON.stringify({ messages_per_second: rate, burst: burstSize }),
    });
    nodes.push(node);
    return {
      limiter: node.get(RateLimiterService),
      degraded: async () => (await node.get(MetricsService).rateLimitDegraded.get()).values[0]?.value,
    };
  };
  const limiterLines = (text: string) => logs.filter((l) => l.context === 'RateLimiter' && l.message.includes(text));

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  // A test that failed with Redis stopped must not leave the next one without it.
  afterEach(async () => {
    await redis.start();
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await redis?.destroy();
  });

  it('closed: counted events are refused UNAVAILABLE at once, logged once; shared limits come back with Redis', async () => {
    const { limiter, degraded } = await start('closed');
    expect(await consume(limiter, uniqueId('warm'))).toBe('admitted');
    await redis.stop();
    const agent = uniqueId('agent');
    const started = performance.now();
    const refusals = await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.consumeMessage(TENANT, agent).then(
          () => null,
          (e: unknown) => e,
        ),
      ),
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const refusal of refusals)
      expect(refusal).toMatchObject({ code: 'UNAVAILABLE', message: 'rate limiting unavailable; retry later' });
    expect(await degraded()).toBe(1);
    expect(limiterLines('RATE_LIMIT_FAILURE_MODE=closed')).toHaveLength(1);

    await redis.start();
    await waitFor(async () => (await consume(limiter, agent).catch(() => 'down')) === 'admitted', 10_000, 'the shared bucket again');
    expect(await degraded()).toBe(0);
    expect(limiterLines('shared rate limits restored')).toHaveLength(1);
  });

  it('open: each node enforces the limits in its own memory, logged once as RATE LIMITS DEGRADED; shared limits come back with Redis', async () => {
    const { limiter, degraded } = await start('open');
    expect(await consume(limiter, uniqueId('warm'))).toBe('admitted');
    await redis.stop();
    const agent = uniqueId('agent');
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: burstSize * 3 }, () =>
        limiter.consumeMessage(TENANT, agent).then(
          () => 'admitted',
          (e: unknown) => e,
        ),
      ),
    );
    const admitted = answers.filter((a) => a === 'admitted').length;
    // The node's own bucket, at the same limits: the burst plus its refill, nothing unlimited.
    expect(admitted).toBeGreaterThanOrEqual(burstSize);
    expect(admitted).toBeLessThanOrEqual(burstSize + Math.ceil((rate * (performance.now() - started)) / 1000) + 1);
    const refused = answers.filter((a) => a !== 'admitted');
    expect(refused).toHaveLength(answers.length - admitted);
    for (const refusal of refused) {
      expect(refusal).toMatchObject({ code: 'RATE_LIMIT', message: 'rate limit reached (per-node while shared limits are unavailable)' });
    }
    expect(await degraded()).toBe(1);
    expect(limiterLines('RATE LIMITS DEGRADED')).toHaveLength(1);

    await redis.start();
    await waitFor(
      // Each try is a new agent (no lease, no local bucket): its first event asks Redis.
      async () => (await consume(limiter, uniqueId('after'))) === 'admitted' && (await degraded()) === 0,
      10_000,
      'the shared bucket again',
    );
    expect(limiterLines('shared rate limits restored').length).toBeGreaterThanOrEqual(1);
  });
});
