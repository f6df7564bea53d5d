import { Injectable } from '@nestjs/common';
import { PrismaService, prismaErrorCode, type Agent, type AgentStatus, type Prisma } from '#libs/persistence';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** A remote A2A agent's credential as stored: sealed (libs/secrets), with its type and key id. */
export interface SealedA2ACredential {
  type: 'bearer' | 'header';
  ciphertext: string;
  keyId: string;
}

/** A registered agent that the gateway reaches over A2A (`a2a_url` set, enabled). */
export type RemoteAgentRow = Agent & { a2aUrl: string };

/** The fields of a new agent. */
export interface AgentCreate {
  id: string;
  tenantId: string;
  name: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
  status?: AgentStatus;
  /** A remote A2A agent's URL (issue 13): the gateway calls it instead of waiting for a connection. */
  a2aUrl?: string | null;
  a2aCredential?: SealedA2ACredential | null;
}

/** The fields an admin may change. */
export interface AgentChange {
  name?: string;
  capabilities?: string[];
  description?: string | null;
  metadata?: Record<string, unknown>;
  status?: AgentStatus;
  /** null: no longer a remote agent (its credential goes too). */
  a2aUrl?: string | null;
  /** null: no credential. */
  a2aCredential?: SealedA2ACredential | null;
}

/** Filters of the agent list. */
export interface AgentFilter {
  tenantId?: string | undefined;
  status?: AgentStatus | undefined;
}

/** Registered agents in Postgres. */
/** Lists are sorted by id: the cursor is the last id. */
const AGENT_CURSOR = cursorCodec('agents', CURSOR_KEYS.agentId);

@Injectable()
export class AgentRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(agent: AgentCreate): Promise<Agent> {
    try {
      const { a2aUrl, a2aCredential, ...fields } = agent;
      return await this.prisma.agent.create({
        data: {
          ...fields,
          metadata: agent.metadata as Prisma.InputJsonObject,
          a2aUrl: a2aUrl ?? null,
          ...credentialColumns(a2aCredential),
        },
      });
    } catch (error) {
      const code = prismaErrorCode(error);
      if (code === 'P2002') throw new GatewayError('CONFLICT', `agent "${agent.id}" already exists`);
      if (code === 'P2003') throw new GatewayError('NOT_FOUND', `tenant "${agent.tenantId}" does not exist`);
      throw error;
    }
  }

  find(id: string): Promise<Agent | null> {
    return this.prisma.agent.findUnique({ where: { id } });
  }

  async list(filter: AgentFilter, page: PageRequest): Promise<Page<Agent>> {
    const [after] = AGENT_CURSOR.decode(page.cursor) ?? [];
    const rows = await this.prisma.agent.findMany({
      where: {
        ...(filter.tenantId !== undefined && { tenantId: filter.tenantId }),
        ...(filter.status !== undefined && { status: filter.status }),
        ...(after !== undefined && { id: { gt: after } }),
      },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return pageOf(rows, page.limit, AGENT_CURSOR, (a) => [a.id]);
  }

  /** Applies the change; returns the agent before and after, or null when it does not exist. */
  async update(id: string, change: AgentChange): Promise<{ before: Agent; after: Agent } | null> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.agent.findUnique({ where: { id } });
      if (!before) return null;
      const after = await tx.agent.update({
        where: { id },
        data: {
          ...(change.name !== undefined && { name: change.name }),
          ...(change.capabilities !== undefined && { capabilities: change.capabilities }),
          ...(change.description !== undefined && { description: change.description }),
          ...(change.metadata !== undefined && { metadata: change.metadata as Prisma.InputJsonObject }),
          ...(change.status !== undefined && { status: change.status }),
          ...(change.a2aUrl !== undefined && { a2aUrl: change.a2aUrl }),
          ...(change.a2aCredential !== undefined && credentialColumns(change.a2aCredential)),
          ...(change.a2aUrl === null && credentialColumns(null)),
        },
      });
      return { before, after };
    });
  }

  /** The enabled remote A2A agent `id`, or null (not registered, disabled, or not remote). */
  async findRemote(id: string): Promise<RemoteAgentRow | null> {
    const row = await this.prisma.agent.findFirst({ where: { id, status: 'enabled', a2aUrl: { not: null } } });
    return row as RemoteAgentRow | null;
  }

  /** A tenant's enabled remote A2A agents, by id (at most `limit`). */
  async listRemote(tenantId: string, limit: number): Promise<RemoteAgentRow[]> {
    const rows = await this.prisma.agent.findMany({
      where: { tenantId, status: 'enabled', a2aUrl: { not: null } },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows as RemoteAgentRow[];
  }

  /** Deletes the agent and, by cascade, its credentials; returns what was deleted. */
  async delete(id: string): Promise<Agent | null> {
    try {
      return await this.prisma.agent.delete({ where: { id } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2025') return null;
      throw error;
    }
  }

  /** Of the given agents, those that are disabled or gone (for the periodic credential re-check). */
  async unusable(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const enabled = await this.prisma.agent.findMany({ where: { id: { in: ids }, status: 'enabled' }, select: { id: true } });
    const ok = new Set(enabled.map((a) => a.id));
    return ids.filter((id) => !ok.has(id));
  }
}

function credentialColumns(credential: SealedA2ACredential | null | undefined) {
  return {
    a2aCredentialType: credential?.type ?? null,
    a2aCredentialCiphertext: credential?.ciphertext ?? null,
    a2aCredentialKeyId: credential?.keyId ?? null,
  };
}
