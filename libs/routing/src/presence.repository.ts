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
 * Every script touches one key, the agent's entry (`presence:agent:<id>`), so it runs in one hash
 * slot on a Redis Cluster: the atomic part is "whose session holds the agent". The indexes (per
 * tenant, global, per node, per session) are other keys, hence other slots, written by separate
 * commands after the script; a listing reads the entries they name and drops those that are gone.
 */

// KEYS: [1] the agent's entry. ARGV: entry JSON, ttl ms. Returns the previous entry (or false),
// atomically with writing the new one.
const CLAIM = `
local prev = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return prev`;

// KEYS: [1] the agent's entry. ARGV: entry JSON, ttl ms, session id. Refreshes only the caller's
// own session: 1 refreshed, 0 recreated (it had expired), -1 taken by another session.
const REFRESH = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, entry = pcall(cjson.decode, cur)
  if ok and entry.session_id ~= ARGV[3] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if cur then return 1 end
return 0`;

// KEYS: [1] the agent's entry. ARGV: session id. Deletes it only if it is still that session's.
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, entry = pcall(cjson.decode, cur)
if ok and entry.session_id ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

// KEYS: [1] the agent's entry. ARGV: a dead node's id. Deletes it only if it still names that
// node; returns the deleted entry (or false).
const RELEASE_IF_ON_NODE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local ok, entry = pcall(cjson.decode, cur)
if not ok or entry.node_id ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return cur`;

// KEYS: [1] the agent's entry. Returns { entry or false, its ttl ms }.
const READ_WITH_TTL = `
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`;

/** The most agents one directory listing returns. */
export const DIRECTORY_LIMIT = 10_000;

/**
 * Presence in Redis: `presence:agent:<id>` holds the entry with a TTL of the heartbeat time-out;
 * two sorted sets (`presence:tenant:<tenant>`, `presence:all`) index agents by expiry so listings
 * skip the dead; `presence:node:<node>` lists the agents of each node, so the agents of a node that
 * died can be removed at once; `presence:session:<id>` finds a session's agent without a scan.
 * Every key carries the entry's TTL, so a node that dies leaves nothing behind for longer than that.
 *
 * Cluster-safe (docs/operations.md, "Redis keys"): each script touches the entry alone; the indexes
 * are written after it by separate commands. A listing is one sorted set (no scan across slots)
 * and then the entries it names. Removing an agent from the indexes re-checks its entry afterwards
 * and puts back one a new session claimed meanwhile, so a release racing a reconnect cannot hide
 * the new session from listings.
 */
// Members per ZADD/SADD of a batched index write (a refresh of 10,000 sessions is ten commands per key, not one huge one).
const INDEX_CHUNK = 1_000;

/** The scripts, sent by SHA (`defineCommand`: EVALSHA, the text only once per connection). */
interface PresenceScripts {
  agwPresenceClaim(key: string, entry: string, ttlMs: number): Promise<string | null>;
  agwPresenceRefresh(key: string, entry: string, ttlMs: number, sessionId: string): Promise<number>;
  agwPresenceRelease(key: string, sessionId: string): Promise<number>;
  agwPresenceReleaseIfOnNode(key: string, nodeId: string): Promise<string | null>;
  agwPresenceReadWithTtl(key: string): Promise<[string | null, number]>;
}

/** Claims whose index writes are made together (see `indexClaimed`). */
interface ClaimBatch {
  entries: PresenceEntry[];
  ttlMs: number;
  written: Promise<void>;
}

@Injectable()
export class PresenceRepository {
  private readonly scripts: PresenceScripts;
  /** The batch of claims not yet written, which the next claims join. */
  private claimed: ClaimBatch | null = null;
  /** The index writes in flight, if any: the next batch starts when they are done. */
  private indexing: Promise<void> | null = null;

  constructor(private readonly redis: RedisService) {
    const c = redis.command;
    c.defineCommand('agwPresenceClaim', { numberOfKeys: 1, lua: CLAIM });
    c.defineCommand('agwPresenceRefresh', { numberOfKeys: 1, lua: REFRESH });
    c.defineCommand('agwPresenceRelease', { numberOfKeys: 1, lua: RELEASE });
    c.defineCommand('agwPresenceReleaseIfOnNode', { numberOfKeys: 1, lua: RELEASE_IF_ON_NODE });
    c.defineCommand('agwPresenceReadWithTtl', { numberOfKeys: 1, lua: READ_WITH_TTL });
    // `defineCommand` adds the methods at run time; ioredis's types cannot know them.
    this.scripts = c as unknown as PresenceScripts;
  }

  private agentKey(agentId: string): string {
    return this.redis.key('presence', 'agent', agentId);
  }

  /**
   * Adds the entries to the tenant, global and node indexes, and their sessions to the session
   * index: one ZADD/SADD per index key (and chunk) and one PEXPIRE per key for the whole batch, so
   * a sweep of N sessions costs N + a few commands here, not 7 N.
   */
  private async index(entries: PresenceEntry[], ttlMs: number, expiry: number): Promise<void> {
    if (entries.length === 0) return;
    const c = this.redis.command;
    const all = this.redis.key('presence', 'all');
    const sorted = new Map<string, (string | number)[]>([[all, []]]);
    const sets = new Map<string, string[]>();
    for (const entry of entries) {
      const tenant = this.redis.key('presence', 'tenant', entry.tenant_id);
      const node = this.redis.key('presence', 'node', entry.node_id);
      let tenantPairs = sorted.get(tenant);
      if (!tenantPairs) sorted.set(tenant, (tenantPairs = []));
      let nodeMembers = sets.get(node);
      if (!nodeMembers) sets.set(node, (nodeMembers = []));
      tenantPairs.push(expiry, entry.agent_id);
      sorted.get(all)!.push(expiry, entry.agent_id);
      nodeMembers.push(entry.agent_id);
    }
    const writes: Promise<unknown>[] = [];
    for (const [key, pairs] of sorted) {
      for (let i = 0; i < pairs.length; i += 2 * INDEX_CHUNK) writes.push(c.zadd(key, ...pairs.slice(i, i + 2 * INDEX_CHUNK)));
      writes.push(c.pexpire(key, ttlMs));
    }
    for (const [key, members] of sets) {
      for (let i = 0; i < members.length; i += INDEX_CHUNK) writes.push(c.sadd(key, ...members.slice(i, i + INDEX_CHUNK)));
      writes.push(c.pexpire(key, ttlMs));
    }
    for (const entry of entries) writes.push(c.set(this.redis.key('presence', 'session', entry.session_id), entry.agent_id, 'PX', ttlMs));
    await Promise.all(writes);
  }

  /**
   * Removes agents whose entries are gone from the tenant and global indexes; then re-reads each
   * entry, and indexes again one that a new session wrote in between.
   */
  private async unindex(gone: { agent_id: string; tenant_id: string }[]): Promise<void> {
    if (gone.length === 0) return;
    const c = this.redis.command;
    const all = this.redis.key('presence', 'all');
    await Promise.all(
      gone.flatMap((g) => [c.zrem(this.redis.key('presence', 'tenant', g.tenant_id), g.agent_id), c.zrem(all, g.agent_id)]),
    );
    const now = await Promise.all(gone.map((g) => this.scripts.agwPresenceReadWithTtl(this.agentKey(g.agent_id))));
    const back = now.filter((found): found is [string, number] => found[0] !== null && found[1] > 0);
    await Promise.all(back.map(([raw, ttlMs]) => this.index([JSON.parse(raw) as PresenceEntry], ttlMs, Date.now() + ttlMs)));
  }

  /** Writes the entry and returns the one it replaced, if any (another session of the same agent). */
  async claim(entry: PresenceEntry, ttlMs: number): Promise<PresenceEntry | null> {
    const raw = await this.scripts.agwPresenceClaim(this.agentKey(entry.agent_id), JSON.stringify(entry), ttlMs);
    const previous = raw ? (JSON.parse(raw) as PresenceEntry) : null;
    const writes: Promise<unknown>[] = [this.indexClaimed(entry, ttlMs)];
    if (previous && previous.session_id !== entry.session_id)
      writes.push(this.redis.command.del(this.redis.key('presence', 'session', previous.session_id)));
    await Promise.all(writes);
    return previous;
  }

  /**
   * Indexes a claimed entry together with the other claims that came while the previous batch's
   * writes were in flight (or, when none was, in this turn of the event loop): a reconnect storm
   * of N agents costs N + a few index commands instead of 7 N, and a lone claim is written at
   * once. Resolves once the entry's batch is written.
   */
  private indexClaimed(entry: PresenceEntry, ttlMs: number): Promise<void> {
    const open = this.claimed;
    if (open && open.ttlMs === ttlMs) {
      open.entries.push(entry);
      return open.written;
    }
    // One batch's writes in flight at a time: the next one starts when they are done, failed or not.
    const previous = this.indexing ?? new Promise<void>((resolve) => setImmediate(resolve));
    const batch: ClaimBatch = { entries: [entry], ttlMs, written: Promise.resolve() };
    batch.written = previous.then(() => {
      if (this.claimed === batch) this.claimed = null;
      return this.index(batch.entries, ttlMs, Date.now() + ttlMs);
    });
    this.claimed = batch;
    const done = batch.written.then(
      () => undefined,
      () => undefined,
    );
    this.indexing = done;
    void done.then(() => {
      if (this.indexing === done) this.indexing = null;
    });
    return batch.written;
  }

  /** Refreshes many entries in one round trip (auto-pipelined; per master on a cluster), then their indexes. */
  async refresh(entries: PresenceEntry[], ttlMs: number): Promise<RefreshOutcome[]> {
    if (entries.length === 0) return [];
    const expiry = Date.now() + ttlMs;
    const results = await Promise.all(
      entries.map((entry) =>
        this.scripts.agwPresenceRefresh(this.agentKey(entry.agent_id), JSON.stringify(entry), ttlMs, entry.session_id),
      ),
    );
    const outcomes = results.map((value): RefreshOutcome => (value === 1 ? 'refreshed' : value === 0 ? 'recreated' : 'taken'));
    await this.index(
      entries.filter((_, i) => outcomes[i] !== 'taken'),
      ttlMs,
      expiry,
    );
    return outcomes;
  }

  /** Removes the entry if it still belongs to `sessionId`. */
  async release(entry: { agent_id: string; tenant_id: string; node_id: string; session_id: string }): Promise<void> {
    const c = this.redis.command;
    const [released] = await Promise.all([
      this.scripts.agwPresenceRelease(this.agentKey(entry.agent_id), entry.session_id),
      c.del(this.redis.key('presence', 'session', entry.session_id)),
    ]);
    if (released !== 1) return;
    await Promise.all([c.srem(this.redis.key('presence', 'node', entry.node_id), entry.agent_id), this.unindex([entry])]);
  }

  /** Removes every entry of a node that is gone (those a newer session took are left alone); returns how many. */
  async releaseNode(nodeId: string): Promise<number> {
    const c = this.redis.command;
    const nodeKey = this.redis.key('presence', 'node', nodeId);
    const agents = await c.smembers(nodeKey);
    const removed = (await Promise.all(agents.map((agent) => this.scripts.agwPresenceReleaseIfOnNode(this.agentKey(agent), nodeId))))
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as PresenceEntry);
    await Promise.all([...removed.map((e) => c.del(this.redis.key('presence', 'session', e.session_id))), this.unindex(removed)]);
    await c.del(nodeKey);
    return removed.length;
  }

  async get(agentId: string): Promise<PresenceEntry | null> {
    const raw = await this.redis.command.get(this.agentKey(agentId));
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
    const raws = await this.redis.getMany(ids.map((id) => this.agentKey(id)));
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
