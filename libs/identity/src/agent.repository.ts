import { Injectable } from '@nestjs/common';
import { PrismaService, type Agent, type Prisma } from '#libs/persistence';

/** The fields of a new agent. */
export interface AgentCreate {
  id: string;
  tenantId: string;
  name: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
}

/** Registered agents in Postgres. */
@Injectable()
export class AgentRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(agent: AgentCreate): Promise<Agent> {
    return this.prisma.agent.create({ data: { ...agent, metadata: agent.metadata as Prisma.InputJsonObject } });
  }

  find(id: string): Promise<Agent | null> {
    return this.prisma.agent.findUnique({ where: { id } });
  }
}
