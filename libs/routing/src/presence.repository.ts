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

/*
 * KEYS of every script: [1] the agent's entry, [2] the tenant index, [3] the global index, [4] the
 * node's agent set, [5] the session → agent index. The indexes carry the entry's TTL too, so none
 * outlives the agents it indexes.
 */

// ARGV: entry JSON, ttl ms, expiry score, agent id, session id, previous session key prefix.
// Returns the previous entry (or false), atomically with writing the new one. The previous
// session's index entry goes with it.
const CLAIM = `
local prev = redis.call('GET', KEYS[1])
if prev then
  local ok, old = pcall(cjson.decode, prev)
  if ok and old.session_id and old.session_id ~= ARGV[5] then redis.call('DEL', ARGV[6] .. old.session_id) end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
redis.call('SET', KEYS[5], ARGV[4], 'PX', ARGV[2])
return prev`;

// Same keys and arguments. Refreshes only the caller's own session.
const REFRESH = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, entry = pcall(cjson.decode, cur)
  if ok and entry.session_id ~= ARGV[5] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
redis.call('SET', KEYS[5], ARGV[4], 'PX', ARGV[2])
if cur then return 1 end
return 0`;

// ARGV: agent id, session id. Deletes only the caller's own session (and its index entries; a
// newer session of the agent keeps its own).
const RELEASE = `
redis.call('DEL', KEYS[5])
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, entry = pcall(cjson.decode, cur)
  if ok and entry.session_id ~= ARGV[2] then return 0 end
end
redis.call('SREM', KEYS[4], ARGV[1])
if not cur then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`;

// KEYS: [1] a dead node's agent set. ARGV: dead node id, agent key prefix, tenant index prefix,
// global index, session index prefix. Removes every entry that still names the dead node.
const RELEASE_NODE = `
local removed = 0
for _, agent in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local cur = redis.call('GET', ARGV[2] .. agent)
  if cur then
    local ok, entry = pcall(cjson.decode, cur)
    if ok and entry.node_id == ARGV[1] then
      redis.call('DEL', ARGV[2] .. agent)
      redis.call('ZREM', ARGV[3] .. entry.tenant_id, agent)
      redis.call('ZREM', ARGV[4], agent)
      redis.call('DEL', ARGV[5] .. entry.session_id)
      removed = removed + 1
    end
  end
end
redis.call('DEL', KEYS[1])
return removed`;

/** The most agents one directory listing returns. */
export const DIRECTORY_LIMIT = 10_000;

/**
 * Presence in Redis: `presence:agent:<id>` holds the entry with a TTL of the heartbeat time-out;
 * two sorted sets (per tenant, global) index agents by expiry so listings skip the dead;
 * `presence:node:<node>` lists the agents of each node, so the agents of a node that died can be
 * removed at once; `presence:session:<id>` finds a session's agent without a scan. Every key
 * carries the entry's TTL, so a node that dies leaves nothing behind for longer than that.
 */
@Injectable()
export class PresenceRepository {
  constructor(private readonly redis: RedisService) {}

  private keys(entry: { agent_id: string; tenant_id: string; node_id: string; session_id: string }): string[] {
    return [
      this.redis.key('presence', 'agent', entry.agent_id),
      this.redis.key('presence', 'tenant', entry.tenant_id),
      this.redis.key('presence', 'all'),
      this.redis.key('presence', 'node', entry.node_id),
      this.redis.key('presence', 'session', entry.session_id),
    ];
  }

  /** Writes the entry and returns the one it replaced, if any (another session of the same agent). */
  async claim(entry: PresenceEntry, ttlMs: number): Promise<PresenceEntry | null> {
    const previous = (await this.redis.command.eval(
      CLAIM,
      5,
      ...this.keys(entry),
      JSON.stringify(entry),
      ttlMs,
      Date.now() + ttlMs,
      entry.agent_id,
      entry.session_id,
      this.redis.key('presence', 'session', ''),
    )) as string | null;
    return previous ? (JSON.parse(previous) as PresenceEntry) : null;
  }

  /** Refreshes many entries in one round trip. */
  async refresh(entries: PresenceEntry[], ttlMs: number): Promise<RefreshOutcome[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.command.pipeline();
    const expiry = Date.now() + ttlMs;
    for (const entry of entries) {
      pipeline.eval(REFRESH, 5, ...this.keys(entry), JSON.stringify(entry), ttlMs, expiry, entry.agent_id, entry.session_id);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value === 1 ? 'refreshed' : value === 0 ? 'recreated' : 'taken';
    });
  }

  /** Removes the entry if it still belongs to `sessionId`. */
  async release(entry: { agent_id: string; tenant_id: string; node_id: string; session_id: string }): Promise<void> {
    await this.redis.command.eval(RELEASE, 5, ...this.keys(entry), entry.agent_id, entry.session_id);
  }

  /** Removes every entry of a node that is gone (those a newer session took are left alone); returns how many. */
  async releaseNode(nodeId: string): Promise<number> {
    return (await this.redis.command.eval(
      RELEASE_NODE,
      1,
      this.redis.key('presence', 'node', nodeId),
      nodeId,
      this.redis.key('presence', 'agent', ''),
      this.redis.key('presence', 'tenant', ''),
      this.redis.key('presence', 'all'),
      this.redis.key('presence', 'session', ''),
    )) as number;
  }

  async get(agentId: string): Promise<PresenceEntry | null> {
    const raw = await this.redis.command.get(this.redis.key('presence', 'agent', agentId));
    return raw ? (JSON.parse(raw) as PresenceEntry) : null;
  }

  /** The live entry of a session, through the session index (no scan), or null. */
  async findSession(sessionId: string): Promise<PresenceEntry | null> {
    const agentId = await this.redis.command.get(this.redis.key('presence', 'session', sessionId));
    if (agentId === null) return null;
    const entry = await this.get(agentId);
    return entry?.session_id === sessionId ? entry : null;
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
