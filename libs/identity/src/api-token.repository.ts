import { Injectable } from '@nestjs/common';
import { PrismaService, type Agent, type ApiToken } from '#libs/persistence';
import { CURSOR_KEYS, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** An API token with the agent it is bound to. */
export type ApiTokenWithAgent = ApiToken & { agent: Agent };

/** API tokens in Postgres; only hashes are stored. */
/** Lists are sorted by id: the cursor is the last id. */
const TOKEN_CURSOR = cursorCodec('tokens', CURSOR_KEYS.uuid);

@Injectable()
export class ApiTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(agentId: string, token: { hash: string; hint: string; name: string | null; expiresAt: Date | null }): Promise<ApiToken> {
    return this.prisma.apiToken.create({ data: { agentId, ...token } });
  }

  findByHash(hash: string): Promise<ApiTokenWithAgent | null> {
    return this.prisma.apiToken.findUnique({ where: { hash }, include: { agent: true } });
  }

  async listForAgent(agentId: string, page: PageRequest): Promise<Page<ApiToken>> {
    const [after] = TOKEN_CURSOR.decode(page.cursor) ?? [];
    const rows = await this.prisma.apiToken.findMany({
      where: { agentId, ...(after !== undefined && { id: { gt: after } }) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return pageOf(rows, page.limit, TOKEN_CURSOR, (t) => [t.id]);
  }

  find(id: string): Promise<ApiToken | null> {
    return this.prisma.apiToken.findUnique({ where: { id } });
  }

  /** Marks the token revoked (idempotent); returns it before the change, or null if it does not exist. */
  async revoke(id: string, at: Date): Promise<{ before: ApiToken; after: ApiToken } | null> {
    const before = await this.find(id);
    if (!before) return null;
    const after = before.revokedAt ? before : await this.prisma.apiToken.update({ where: { id }, data: { revokedAt: at } });
    return { before, after };
  }

  /** Records use; called at most once a minute per token so connects do not each cost a write. */
  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: at } });
  }

  /** Of the given token ids, those that are revoked, expired or gone. */
  async unusable(ids: string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const usable = await this.prisma.apiToken.findMany({
      where: { id: { in: ids }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      select: { id: true },
    });
    const ok = new Set(usable.map((t) => t.id));
    return ids.filter((id) => !ok.has(id));
  }
}
