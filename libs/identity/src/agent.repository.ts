import { Injectable } from '@nestjs/common';
import { PrismaService, prismaErrorCode, type Agent, type AgentStatus, type Prisma } from '#libs/persistence';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** The fields of a new agent. */
export interface AgentCreate {
  id: string;
  tenantId: string;
  name: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
  status?: AgentStatus;
}

/** The fields an admin may change. */
export interface AgentChange {
  name?: string;
  capabilities?: string[];
  description?: string | null;
  metadata?: Record<string, unknown>;
  status?: AgentStatus;
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
      return await this.prisma.agent.create({ data: { ...agent, metadata: agent.metadata as Prisma.InputJsonObject } });
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
        },
      });
      return { before, after };
    });
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
