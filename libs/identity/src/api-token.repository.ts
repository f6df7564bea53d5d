import { Injectable } from '@nestjs/common';
import { PrismaService, type Agent, type ApiToken } from '#libs/persistence';

/** An API token with the agent it is bound to. */
export type ApiTokenWithAgent = ApiToken & { agent: Agent };

/** API tokens in Postgres; only hashes are stored. */
@Injectable()
export class ApiTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(agentId: string, hash: string, hint: string, expiresAt: Date | null): Promise<ApiToken> {
    return this.prisma.apiToken.create({ data: { agentId, hash, hint, expiresAt } });
  }

  findByHash(hash: string): Promise<ApiTokenWithAgent | null> {
    return this.prisma.apiToken.findUnique({ where: { hash }, include: { agent: true } });
  }

  /** Records use; called at most once a minute per token so connects do not each cost a write. */
  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
