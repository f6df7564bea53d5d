import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AgentRepository, IdentityEventsBus, type RemoteAgentRow } from '#libs/identity';
import { TtlCache, type RemoteAgent } from '#libs/routing';

// A send to an agent that is not connected looks here first: cache the answer, both ways, so a
// burst of sends to an absent agent does not become a burst of queries. Identity events (a change,
// a disable, a removal, a registration with a2a_url) clear an entry at once on every node.
const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;
/** Most remote agents one directory listing shows. */
const LIST_MAX = 1_000;

/** The registered remote A2A agents, read through a short cache kept fresh by identity events. */
@Injectable()
export class RemoteAgentDirectory implements OnApplicationBootstrap {
  private readonly cache = new TtlCache<RemoteAgentRow | null>(CACHE_TTL_MS, CACHE_MAX);

  constructor(
    private readonly agents: AgentRepository,
    private readonly events: IdentityEventsBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.events.subscribe((event) => {
      if (event.type === 'agent_changed' || event.type === 'agent_revoked') this.forget(event.agent_id);
    });
  }

  /** The enabled remote agent `agentId` with its URL and sealed credential, or null. */
  async row(agentId: string): Promise<RemoteAgentRow | null> {
    const cached = this.cache.get(agentId);
    if (cached !== undefined) return cached;
    const row = await this.agents.findRemote(agentId);
    this.cache.set(agentId, row);
    return row;
  }

  async find(agentId: string): Promise<RemoteAgent | null> {
    const row = await this.row(agentId);
    return row && toRemoteAgent(row);
  }

  async list(tenantId: string): Promise<RemoteAgent[]> {
    return (await this.agents.listRemote(tenantId, LIST_MAX)).map(toRemoteAgent);
  }

  /** Drops what this node remembers of `agentId`. */
  forget(agentId: string): void {
    this.cache.delete(agentId);
  }
}

function toRemoteAgent(row: RemoteAgentRow): RemoteAgent {
  return {
    tenantId: row.tenantId,
    agentId: row.id,
    agentName: row.name,
    capabilities: row.capabilities,
    description: row.description,
    metadata: row.metadata as Record<string, unknown>,
  };
}
