import { Inject, Injectable, Optional } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import {
  GATEWAY_NAMESPACE,
  GatewayError,
  WEBSOCKET_PATH,
  type AgentCard,
  type AgentDetailResponse,
  type DirectoryEntry,
  type DirectoryResponse,
  type ManifestResponse,
  type StatusResponse,
} from '#libs/protocol';
import { directoryRead } from './directory-read.js';
import { MessageCounterRepository } from './message-counter.repository.js';
import { ClusterMembership } from './cluster-membership.js';
import { PresenceRepository, type PresenceEntry } from './presence.repository.js';
import { SessionLifecycle } from './sessions/session-lifecycle.js';
import { PolicyService } from '#libs/policy';
import { subjectOf } from './guards/policy-subject.js';
import type { Caller } from './session.js';
import { REMOTE_AGENTS, type RemoteAgent, type RemoteAgents } from './remote-agents.js';

/**
 * The agent directory and gateway status, as the agent HTTP API serves them. Listings show the
 * caller's own tenant only: agents of consenting tenants can be read and reached by id, but a
 * tenant's roster is never enumerated for another.
 */
@Injectable()
export class DirectoryService {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly presence: PresenceRepository,
    private readonly membership: ClusterMembership,
    private readonly counters: MessageCounterRepository,
    private readonly sessions: SessionLifecycle,
    private readonly policy: PolicyService,
    @Optional() @Inject(REMOTE_AGENTS) private readonly remotes: RemoteAgents | null = null,
  ) {}

  /** The tenant's connected agents, then its remote A2A agents that are not connected. */
  async list(tenantId: string): Promise<DirectoryResponse> {
    const [entries, remotes] = await directoryRead(async () =>
      Promise.all([this.membership.filterLive(await this.presence.listTenant(tenantId)), this.remotes?.list(tenantId) ?? []]),
    );
    const online = new Set(entries.map((e) => e.agent_id));
    return { agents: [...entries.map(toDirectoryEntry), ...remotes.filter((r) => !online.has(r.agentId)).map(remoteEntry)] };
  }

  /**
   * The cards of the agents connected in a tenant, wherever they are connected, ordered by agent id
   * (at most `DIRECTORY_LIMIT`): what MCP lists as tools, before the policy's say.
   */
  async tenantCards(tenantId: string): Promise<AgentCard[]> {
    const entries = await directoryRead(async () => this.membership.filterLive(await this.presence.listTenant(tenantId)));
    return entries.map((entry) => entry.card);
  }

  /** The card of one agent connected in `tenantId`, or null (not connected, or of another tenant). */
  async tenantCard(tenantId: string, agentId: string): Promise<AgentCard | null> {
    return directoryRead(async () => {
      const entry = await this.presence.get(agentId);
      return entry && entry.tenant_id === tenantId && (await this.membership.isLive(entry.node_id)) ? entry.card : null;
    });
  }

  /**
   * One connected agent: of the caller's tenant, or of another tenant that consents on both sides
   * (contract §7.1). Anything else reads exactly like an agent that is not connected.
   */
  async get(caller: Caller, agentId: string): Promise<AgentDetailResponse> {
    const entry = await directoryRead(async () => {
      const found = await this.presence.get(agentId);
      return found && (await this.membership.isLive(found.node_id)) ? found : null;
    });
    const visible =
      entry !== null &&
      (entry.tenant_id === caller.tenantId ||
        (await this.policy.canSee(subjectOf(caller), {
          tenantId: entry.tenant_id,
          agentId: entry.agent_id,
          capabilities: entry.card.capabilities,
        })));
    if (!entry) return this.getRemote(caller, agentId);
    if (!visible) throw new GatewayError('AGENT_NOT_FOUND', `agent "${agentId}" is not connected`);
    return {
      ...toDirectoryEntry(entry),
      description: entry.card.description,
      metadata: entry.card.metadata,
      connected_at: entry.connected_at,
    };
  }

  /** A remote A2A agent, visible under the same rules as a connected one. */
  private async getRemote(caller: Caller, agentId: string): Promise<AgentDetailResponse> {
    const remote = await directoryRead(async () => (await this.remotes?.find(agentId)) ?? null);
    const visible =
      remote !== null &&
      (remote.tenantId === caller.tenantId ||
        (await this.policy.canSee(subjectOf(caller), { tenantId: remote.tenantId, agentId, capabilities: remote.capabilities })));
    if (!remote || !visible) throw new GatewayError('AGENT_NOT_FOUND', `agent "${agentId}" is not connected`);
    return { ...remoteEntry(remote), description: remote.description, metadata: remote.metadata, connected_at: null };
  }

  async status(tenantId: string): Promise<StatusResponse> {
    const [connected, total] = await directoryRead(() => Promise.all([this.presence.countTenant(tenantId), this.counters.total(tenantId)]));
    return {
      status: 'running',
      version: this.config.version,
      uptime_seconds: this.sessions.uptimeSeconds,
      connected_agents: connected,
      total_messages: total,
    };
  }

  async manifest(features: string[], transports: ManifestResponse['transports']): Promise<ManifestResponse> {
    const [current, nodes] = await directoryRead(() => Promise.all([this.presence.countAll(), this.membership.liveNodes()]));
    const capacity = nodes.reduce((sum, node) => sum + node.max_connections, 0) || this.config.agentPlane.maxConnections;
    return {
      name: this.config.manifest.name,
      description: this.config.manifest.description,
      version: this.config.version,
      current_agents: current,
      max_capacity: capacity,
      auth_methods: this.config.auth.methods,
      transports,
      features,
      endpoints: {
        socketio: { path: '/socket.io', namespace: GATEWAY_NAMESPACE },
        websocket: { path: WEBSOCKET_PATH },
        http: { base: '/gateway' },
      },
      limits: {
        max_message_bytes: this.config.agentPlane.maxMessageBytes,
        heartbeat_interval_s: this.config.heartbeat.intervalS,
        heartbeat_timeout_s: this.config.heartbeat.timeoutS,
      },
    };
  }
}

function toDirectoryEntry(entry: PresenceEntry): DirectoryEntry {
  return {
    agent_id: entry.agent_id,
    agent_name: entry.card.agent_name,
    capabilities: entry.card.capabilities,
    status: 'online',
    last_heartbeat: entry.last_heartbeat,
  };
}

function remoteEntry(remote: RemoteAgent): DirectoryEntry {
  return {
    agent_id: remote.agentId,
    agent_name: remote.agentName,
    capabilities: [...remote.capabilities],
    status: 'remote',
    last_heartbeat: null,
  };
}
