import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError } from '#libs/protocol';
import { RateLimitConfigService } from './rate-limit-config.service.js';
import { resolveConnectLimit, resolveMessageLimits } from './rate-limit.document.js';
import { TokenBucketRepository, type BucketAnswer } from './token-bucket.repository.js';

/**
 * How much of an agent's rate a node may take from Redis at once, and how long it may keep it.
 * Tolerance: a node holds at most `rate × 10 ms` unspent tokens, for at most 10 ms, so across N
 * nodes the shared limit admits at most N × rate × 10 ms messages more than a strict bucket in a
 * burst after a refill, and at most that many fewer while leases lapse unused. A refused trip is
 * held for the same window: the node refuses that agent's events for the rest of it without
 * asking again, so an agent over its limit costs a node about two trips per window however fast it
 * sends (the tokens that refill meanwhile stay in the bucket for the next trip; over a measurement
 * window this may admit up to rate × 10 ms per node fewer, as lapsed leases do). Below 100 msgs/s
 * the lease is one token and nothing is held: exact.
 *
 * The size is what the agent may send in 10 ms at its configured rate; the lease then lives until
 * it is spent or for at most {@link LEASE_MAX_AGE_MS}: an agent that sends well below its rate (the
 * usual case) costs one trip per lease rather than one per 10 ms, and the held tokens stay within
 * the same `rate × 10 ms` bound (fewer lapse unused, too).
 */
export const LEASE_WINDOW_MS = 10;
/** The longest a lease of tokens is kept; a refusal is held for {@link LEASE_WINDOW_MS} only. */
export const LEASE_MAX_AGE_MS = 100;

/** What a node holds of an agent's bucket between trips: spare tokens, or the refusal it last got. */
interface Lease {
  tokens: number;
  expiresAt: number;
  /** The last trip was refused: until `expiresAt`, events are refused with it, without a trip. */
  refusal?: BucketAnswer;
}

interface LocalBucket {
  tokens: number;
  at: number;
}

/**
 * The rate limits of contract §7.2 on every node, against shared token buckets in Redis:
 * counted client events per agent (and per tenant, when the tenant has an aggregate), and connects
 * per remote address. When Redis is unreachable, `RATE_LIMIT_FAILURE_MODE` decides: `closed`
 * refuses with `UNAVAILABLE`; `open` falls back to buckets in this process (each node then admits
 * up to the full limit), loudly logged. Service resumes by itself when Redis is back.
 */
@Injectable()
export class RateLimiterService {
  private readonly logger = new Logger('RateLimiter');
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<BucketAnswer>>();
  private readonly local = new Map<string, LocalBucket>();
  private degraded = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly limits: RateLimitConfigService,
    private readonly buckets: TokenBucketRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** Counts one client event of an agent; throws `RATE_LIMIT` (or `UNAVAILABLE`) when over. */
  async consumeMessage(tenantId: string, agentId: string): Promise<void> {
    const key = `m:${agentId}`; // agent ids are unique across tenants
    if (this.fromLease(key)) return;
    const limits = resolveMessageLimits(this.limits.current, this.limits.defaults, tenantId, agentId);
    const leaseSize = Math.max(1, Math.min(limits.burst, Math.floor((limits.ratePerSecond * LEASE_WINDOW_MS) / 1000)));
    const held = this.heldRefusal(key);
    if (held) throw refusal(held, limits.burst, 'message rate limit reached');
    const tenant = limits.tenant ? { key: `t:${tenantId}`, rate: limits.tenant.ratePerSecond, burst: limits.tenant.burst } : undefined;
    // Both buckets under the tenant's hash tag: one slot on a Redis Cluster, whether or not a tenant limit is set.
    const answer = await this.take(key, limits.ratePerSecond, limits.burst, leaseSize, tenant, `t:${tenantId}`);
    if (answer === 'local') return this.consumeLocally(key, limits.ratePerSecond, limits.burst, limits.burst);
    if (answer.granted < 1) throw refusal(answer, limits.burst, 'message rate limit reached');
  }

  /** Counts one connection attempt from `address` (before it is authenticated). */
  async consumeConnect(address: string): Promise<void> {
    const perMinute = resolveConnectLimit(this.limits.current, this.limits.defaults);
    const key = `c:${address}`;
    const answer = await this.take(key, perMinute / 60, perMinute, 1);
    if (answer === 'local') return this.consumeLocally(key, perMinute / 60, perMinute, perMinute);
    if (answer.granted < 1) throw refusal(answer, perMinute, 'too many connections from this address');
  }

  /**
   * Counts one connect of an agent (after it authenticated), `AGENT_CONNECTS_PER_MINUTE` on every
   * node together: a reconnect storm, or two copies of an agent replacing each other, ends in
   * `RATE_LIMIT` instead of costing a presence claim and two audit records per turn.
   */
  async consumeAgentConnect(agentId: string): Promise<void> {
    const perMinute = this.config.agentPlane.agentConnectsPerMinute;
    const key = `ac:${agentId}`;
    const answer = await this.take(key, perMinute / 60, perMinute, 1);
    if (answer === 'local') return this.consumeLocally(key, perMinute / 60, perMinute, perMinute);
    if (answer.granted < 1)
      throw refusal(
        answer,
        perMinute,
        `this agent connected ${perMinute} times within a minute (AGENT_CONNECTS_PER_MINUTE)`,
        'agent_connects_per_minute',
      );
  }

  /** Takes a token from this node's lease of `key`, if it holds a live one. */
  private fromLease(key: string): boolean {
    const lease = this.leases.get(key);
    if (!lease || lease.tokens < 1 || lease.expiresAt <= Date.now()) return false;
    lease.tokens--;
    return true;
  }

  /**
   * The refusal this node got for `key` less than a lease window ago, if any, with the time the
   * client should wait: until the node asks again, or until the bucket has a token, whichever is later.
   */
  private heldRefusal(key: string): BucketAnswer | null {
    const lease = this.leases.get(key);
    const now = Date.now();
    if (!lease?.refusal || lease.expiresAt <= now) return null;
    const since = now - (lease.expiresAt - LEASE_WINDOW_MS);
    return { ...lease.refusal, retryAfterMs: Math.max(1, Math.ceil(lease.expiresAt - now), lease.refusal.retryAfterMs - since) };
  }

  /**
   * One trip to Redis for `want` tokens; the caller keeps one and the rest become this node's
   * lease. Events of the same key that arrive while a trip for a lease is under way wait for it,
   * then take from its lease, or share its refusal, instead of each asking Redis. A take of one
   * token (connects, rates below 100/s) leaves no lease to share: concurrent takes of one key each
   * make their own trip at once (the script is atomic), so a thousand agents connecting at once
   * from one address (a NAT) cost a thousand trips in flight together, not a queue of trips each
   * woken by all the others (quadratic in the burst).
   */
  private async take(
    key: string,
    rate: number,
    burst: number,
    want: number,
    tenant?: { key: string; rate: number; burst: number },
    slot?: string,
  ): Promise<BucketAnswer | 'local'> {
    if (want === 1) return this.settle(this.buckets.take(key, rate, burst, 1, tenant, slot));
    for (let inflight = this.pending.get(key); inflight; inflight = this.pending.get(key)) {
      const shared = await inflight.catch(() => null);
      if (this.fromLease(key)) return { granted: 1, remaining: shared?.remaining ?? 0, retryAfterMs: 0, resetMs: shared?.resetMs ?? 0 };
      if (shared && shared.granted < 1) return shared;
    }
    const trip = this.buckets
      .take(key, rate, burst, want, tenant, slot)
      .then((answer) => {
        if (answer.granted > 1) this.leases.set(key, { tokens: answer.granted - 1, expiresAt: Date.now() + LEASE_MAX_AGE_MS });
        else if (answer.granted < 1 && want > 1)
          this.leases.set(key, { tokens: 0, expiresAt: Date.now() + LEASE_WINDOW_MS, refusal: answer });
        else this.leases.delete(key);
        if (this.leases.size > 10_000) this.pruneLeases();
        return answer;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, trip);
    return this.settle(trip);
  }

  /** The answer of a trip, or what `RATE_LIMIT_FAILURE_MODE` makes of a failed one. */
  private async settle(trip: Promise<BucketAnswer>): Promise<BucketAnswer | 'local'> {
    try {
      const answer = await trip;
      this.recovered();
      return answer;
    } catch (error) {
      return this.onRedisFailure(error);
    }
  }

  private pruneLeases(): void {
    const now = Date.now();
    for (const [key, lease] of this.leases) if (lease.expiresAt <= now) this.leases.delete(key);
  }

  private onRedisFailure(error: unknown): 'local' {
    if (!this.degraded) {
      this.degraded = true;
      this.metrics.rateLimitDegraded.set(1);
      if (this.config.rateLimits.failureMode === 'open') {
        this.logger.error(
          `RATE LIMITS DEGRADED: Redis unreachable (${(error as Error).message}); RATE_LIMIT_FAILURE_MODE=open, enforcing per-node limits only until it is back`,
        );
      } else {
        this.logger.error(
          `Redis unreachable (${(error as Error).message}); RATE_LIMIT_FAILURE_MODE=closed, refusing counted events with UNAVAILABLE until it is back`,
        );
      }
    }
    if (this.config.rateLimits.failureMode === 'closed')
      throw new GatewayError('UNAVAILABLE', 'rate limiting unavailable; retry later', { cause: error });
    return 'local';
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.metrics.rateLimitDegraded.set(0);
    this.local.clear();
    this.logger.log('Redis reachable again: shared rate limits restored');
  }

  /** A token bucket in this process, for `RATE_LIMIT_FAILURE_MODE=open` while Redis is down. */
  private consumeLocally(key: string, rate: number, burst: number, limit: number): void {
    const now = Date.now();
    const bucket = this.local.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * rate) / 1000);
    bucket.at = now;
    this.local.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / rate));
    throw new GatewayError('RATE_LIMIT', 'rate limit reached (per-node while shared limits are unavailable)', {
      retryAfterMs,
      rateLimit: { limit, remaining: 0, resetMs: retryAfterMs },
    });
  }
}

function refusal(answer: BucketAnswer, limit: number, message: string, reason?: string): GatewayError {
  return new GatewayError('RATE_LIMIT', message, {
    retryAfterMs: answer.retryAfterMs,
    rateLimit: { limit, remaining: answer.remaining, resetMs: answer.resetMs },
    ...(reason !== undefined && { reason }),
  });
}
