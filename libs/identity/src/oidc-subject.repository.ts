import { Injectable } from '@nestjs/common';
import { PrismaService, prismaErrorCode, type Agent, type OidcSubject } from '#libs/persistence';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** An OIDC subject binding with its agent. */
export type OidcSubjectWithAgent = OidcSubject & { agent: Agent };

/** OIDC subject bindings in Postgres. */
/** Lists are sorted by id: the cursor is the last id. */
const OIDC_SUBJECT_CURSOR = cursorCodec('oidc-subjects', CURSOR_KEYS.uuid);

@Injectable()
export class OidcSubjectRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(agentId: string, subject: string, issuer: string | null): Promise<OidcSubject> {
    try {
      return await this.prisma.oidcSubject.create({ data: { agentId, subject, issuer } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2002') throw new GatewayError('CONFLICT', 'this subject is already bound to an agent');
      throw error;
    }
  }

  find(id: string): Promise<OidcSubject | null> {
    return this.prisma.oidcSubject.findUnique({ where: { id } });
  }

  async listForAgent(agentId: string, page: PageRequest): Promise<Page<OidcSubject>> {
    const [after] = OIDC_SUBJECT_CURSOR.decode(page.cursor) ?? [];
    const rows = await this.prisma.oidcSubject.findMany({
      where: { agentId, ...(after !== undefined && { id: { gt: after } }) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return pageOf(rows, page.limit, OIDC_SUBJECT_CURSOR, (s) => [s.id]);
  }

  async delete(id: string): Promise<OidcSubject | null> {
    try {
      return await this.prisma.oidcSubject.delete({ where: { id } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2025') return null;
      throw error;
    }
  }

  /**
   * The binding of `subject` at `issuer`: one naming that issuer wins over one with no issuer,
   * which stands for the configured `OIDC_ISSUER` (`defaultIssuer`).
   */
  async findFor(issuer: string, subject: string, defaultIssuer: string): Promise<OidcSubjectWithAgent | null> {
    const rows = await this.prisma.oidcSubject.findMany({
      where: { subject, OR: [{ issuer }, ...(issuer === defaultIssuer ? [{ issuer: null }] : [])] },
      include: { agent: true },
    });
    return rows.find((r) => r.issuer === issuer) ?? rows[0] ?? null;
  }

  /** Of the given binding ids, those that no longer exist. */
  async missing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.prisma.oidcSubject.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const ok = new Set(found.map((b) => b.id));
    return ids.filter((id) => !ok.has(id));
  }
}
