import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';
import type { AgentCard, TransportName } from '#libs/protocol';

/** An agent's presence as every node sees it: where it is connected and what its card says. */
export interface PresenceEntry {
  session_id: string;
  agent_id: string;
  tenant_id: string;
  node_id: string;
  transport: Exclude<TransportName, 'http'>;
  card: AgentCard;
  remote_addr: string;
  connected_at: string;
  last_heartbeat: string;
  expires_at: string | null;
}

/** What refreshing a presence entry found. */
export type RefreshOutcome = 'refreshed' | 'recreated' | 'taken';

// KEYS: agent key, tenant index, global index. ARGV: entry JSON, ttl ms, expiry score, agent id.
// Returns the previous entry (or false), atomically with writing the new one.
const CLAIM = `
local prev = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return prev`;

// Same keys and arguments, plus ARGV[5] = session id. Refreshes only the caller's own session.
const REFRESH = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, entry = pcall(cjson.decode, cur)
  if ok and entry.session_id ~= ARGV[5] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
if cur then return 1 end
return 0`;

// KEYS as above. ARGV: agent id, session id. Deletes only the caller's own session.
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, entry = pcall(cjson.decode, cur)
if ok and entry.session_id ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`;

/** The most agents one directory listing returns. */
export const DIRECTORY_LIMIT = 10_000;

/**
 * Presence in Redis: `presence:agent:<id>` holds the entry with a TTL of the heartbeat time-out,
 * and two sorted sets (per tenant, global) index agents by expiry so listings skip the dead.
 * A node that dies stops refreshing, and its entries vanish when their TTL runs out.
 */
@Injectable()
export class PresenceRepository {
  constructor(private readonly redis: RedisService) {}

  private keys(entry: { agent_id: string; tenant_id: string }): string[] {
    return [
      this.redis.key('presence', 'agent', entry.agent_id),
      this.redis.key('presence', 'tenant', entry.tenant_id),
      this.redis.key('presence', 'all'),
    ];
  }

  /** Writes the entry and returns the one it replaced, if any (another session of the same agent). */
  async claim(entry: PresenceEntry, ttlMs: number): Promise<PresenceEntry | null> {
    const previous = (await this.redis.command.eval(
      CLAIM,
      3,
      ...this.keys(entry),
      JSON.stringify(entry),
      ttlMs,
      Date.now() + ttlMs,
      entry.agent_id,
    )) as string | null;
    return previous ? (JSON.parse(previous) as PresenceEntry) : null;
  }

  /** Refreshes many entries in one round trip. */
  async refresh(entries: PresenceEntry[], ttlMs: number): Promise<RefreshOutcome[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.command.pipeline();
    const expiry = Date.now() + ttlMs;
    for (const entry of entries) {
      pipeline.eval(REFRESH, 3, ...this.keys(entry), JSON.stringify(entry), ttlMs, expiry, entry.agent_id, entry.session_id);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value === 1 ? 'refreshed' : value === 0 ? 'recreated' : 'taken';
    });
  }

  /** Removes the entry if it still belongs to `sessionId`. */
  async release(entry: { agent_id: string; tenant_id: string; session_id: string }): Promise<void> {
    await this.redis.command.eval(RELEASE, 3, ...this.keys(entry), entry.agent_id, entry.session_id);
  }

  async get(agentId: string): Promise<PresenceEntry | null> {
    const raw = await this.redis.command.get(this.redis.key('presence', 'agent', agentId));
    return raw ? (JSON.parse(raw) as PresenceEntry) : null;
  }

  /** The agents online in a tenant, at most {@link DIRECTORY_LIMIT}, ordered by agent id. */
  async listTenant(tenantId: string): Promise<PresenceEntry[]> {
    return (await this.listIndex(this.redis.key('presence', 'tenant', tenantId))).filter((entry) => entry.tenant_id === tenantId);
  }

  /** The agents online on every node, at most {@link DIRECTORY_LIMIT}, ordered by agent id. */
  listAll(): Promise<PresenceEntry[]> {
    return this.listIndex(this.redis.key('presence', 'all'));
  }

  /** The live entries of an index (expired members dropped first), ordered by agent id. */
  private async listIndex(index: string): Promise<PresenceEntry[]> {
    await this.redis.command.zremrangebyscore(index, '-inf', Date.now());
    const ids = await this.redis.command.zrange(index, 0, DIRECTORY_LIMIT - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.command.mget(ids.map((id) => this.redis.key('presence', 'agent', id)));
    return raws
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as PresenceEntry)
      .sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
  }

  /** How many agents are online in a tenant. */
  async countTenant(tenantId: string): Promise<number> {
    const index = this.redis.key('presence', 'tenant', tenantId);
    return this.redis.command.zcount(index, Date.now(), '+inf');
  }

  /** How many agents are online on every node. */
  async countAll(): Promise<number> {
    return this.redis.command.zcount(this.redis.key('presence', 'all'), Date.now(), '+inf');
  }
}
