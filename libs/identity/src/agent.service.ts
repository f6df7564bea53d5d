import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import type { Agent } from '#libs/persistence';
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN, GatewayError, cardBytes } from '#libs/protocol';
import { AgentRepository, type AgentChange, type AgentCreate, type AgentFilter } from './agent.repository.js';
import { agentState, recordMutation } from './admin-audit.js';
import { IdentityEventsBus, type IdentityEvent } from './identity-events.bus.js';
import type { Page, PageRequest } from './paging.js';

/**
 * Registered agents. Disabling or deleting one ends its live sessions on every node (`revoked`);
 * changing its name or capabilities updates them in place.
 */
@Injectable()
export class AgentService {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly agents: AgentRepository,
    private readonly events: IdentityEventsBus,
    private readonly audit: AuditTrail,
  ) {}

  async register(agent: AgentCreate, actor: AuditActor): Promise<Agent> {
    if (!AGENT_ID_PATTERN.test(agent.id))
      throw new GatewayError('INVALID_MESSAGE', 'agent_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
    const bad = agent.capabilities.find((c) => !CAPABILITY_PATTERN.test(c));
    if (bad !== undefined) throw new GatewayError('INVALID_MESSAGE', `capabilities: "${bad}" is not a valid capability`);
    this.checkCardSize(agent);
    const created = await this.agents.create(agent);
    recordMutation(this.audit, actor, 'agent.created', created.tenantId, created.id, { after: agentState(created) });
    // Nodes that looked for this agent id a moment ago (a send to it) cached that it is not remote.
    if (created.a2aUrl !== null) await this.events.publish(changedEvent(created));
    return created;
  }

  find(id: string): Promise<Agent | null> {
    return this.agents.find(id);
  }

  async get(id: string): Promise<Agent> {
    const agent = await this.agents.find(id);
    if (!agent) throw new GatewayError('AGENT_NOT_FOUND', `agent "${id}" is not registered`);
    return agent;
  }

  list(filter: AgentFilter, page: PageRequest): Promise<Page<Agent>> {
    return this.agents.list(filter, page);
  }

  /** Changes an agent; returns it before and after. */
  async update(id: string, change: AgentChange, actor: AuditActor): Promise<{ before: Agent; after: Agent }> {
    if (change.a2aCredential && change.a2aUrl === undefined && (await this.agents.find(id))?.a2aUrl === null) {
      throw new GatewayError('INVALID_MESSAGE', 'a2a_credential: the agent has no a2a_url; give one with it');
    }
    if (
      change.name !== undefined ||
      change.capabilities !== undefined ||
      change.description !== undefined ||
      change.metadata !== undefined
    ) {
      const current = await this.agents.find(id);
      if (current) this.checkCardSize({ ...current, ...change });
    }
    const result = await this.agents.update(id, change);
    if (!result) throw new GatewayError('AGENT_NOT_FOUND', `agent "${id}" is not registered`);
    const { before, after } = result;
    recordMutation(this.audit, actor, 'agent.updated', after.tenantId, id, { before: agentState(before), after: agentState(after) });
    if (after.status === 'disabled') {
      await this.events.publish({ type: 'agent_revoked', agent_id: id });
    } else {
      await this.events.publish(changedEvent(after));
    }
    return result;
  }

  /** A registration whose card would be over `MAX_CARD_BYTES` is refused: every session of the agent would carry it. */
  private checkCardSize(agent: Pick<Agent, 'name' | 'capabilities' | 'description'> & { metadata?: unknown }): void {
    const bytes = cardBytes({
      agent_name: agent.name,
      capabilities: agent.capabilities,
      description: agent.description ?? null,
      metadata: (agent.metadata ?? {}) as Record<string, unknown>,
    });
    if (bytes > this.config.limits.cardBytes)
      throw new GatewayError('PAYLOAD_TOO_LARGE', `agent card of ${bytes} bytes is over MAX_CARD_BYTES (${this.config.limits.cardBytes})`, {
        reason: 'max_card_bytes',
      });
  }

  /** Deletes an agent and its credentials; returns what was deleted. */
  async remove(id: string, actor: AuditActor): Promise<Agent> {
    const deleted = await this.agents.delete(id);
    if (!deleted) throw new GatewayError('AGENT_NOT_FOUND', `agent "${id}" is not registered`);
    recordMutation(this.audit, actor, 'agent.deleted', deleted.tenantId, id, { before: agentState(deleted) });
    await this.events.publish({ type: 'agent_revoked', agent_id: id });
    return deleted;
  }
}

function changedEvent(agent: Agent): IdentityEvent {
  return {
    type: 'agent_changed',
    agent_id: agent.id,
    agent_name: agent.name,
    capabilities: agent.capabilities,
    description: agent.description,
    metadata: agent.metadata as Record<string, unknown>,
  };
}
