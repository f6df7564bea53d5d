import { Injectable } from '@nestjs/common';
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN, GatewayError, TENANT_ID_PATTERN } from '#libs/protocol';
import type { Agent, Tenant } from '#libs/persistence';
import { AgentRepository, type AgentCreate } from './agent.repository.js';
import { ApiTokenRepository } from './api-token.repository.js';
import { apiTokenHint, generateApiToken, hashApiToken } from './api-token.js';
import { TenantRepository } from './tenant.repository.js';

/** A token as returned once, at creation. */
export interface IssuedApiToken {
  token_id: string;
  token: string;
  expires_at: string | null;
}

/** Registers tenants and agents and issues their API tokens. */
@Injectable()
export class IdentityService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly agents: AgentRepository,
    private readonly tokens: ApiTokenRepository,
  ) {}

  /** Creates the tenant, or returns it unchanged when it exists. */
  async ensureTenant(id: string, name: string): Promise<Tenant> {
    if (!TENANT_ID_PATTERN.test(id)) throw new GatewayError('INVALID_MESSAGE', 'tenant_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$');
    return this.tenants.ensure(id, name);
  }

  /** Registers an agent in an existing tenant. */
  async registerAgent(agent: AgentCreate): Promise<Agent> {
    if (!AGENT_ID_PATTERN.test(agent.id))
      throw new GatewayError('INVALID_MESSAGE', 'agent_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
    const bad = agent.capabilities.find((c) => !CAPABILITY_PATTERN.test(c));
    if (bad !== undefined) throw new GatewayError('INVALID_MESSAGE', `capabilities: "${bad}" is not a valid capability`);
    return this.agents.create(agent);
  }

  findAgent(id: string): Promise<Agent | null> {
    return this.agents.find(id);
  }

  /** Issues a new API token for an agent; the plain token exists only in the return value. */
  async issueApiToken(agentId: string, expiresAt: Date | null): Promise<IssuedApiToken> {
    const token = generateApiToken();
    const record = await this.tokens.create(agentId, hashApiToken(token), apiTokenHint(token), expiresAt);
    return { token_id: record.id, token, expires_at: record.expiresAt?.toISOString() ?? null };
  }
}
