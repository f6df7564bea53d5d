import { Injectable } from '@nestjs/common';
import { PrismaService, prismaErrorCode, type Agent, type CertificateBinding, type CertificateBindingKind } from '#libs/persistence';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** A certificate binding with its agent. */
export type CertificateBindingWithAgent = CertificateBinding & { agent: Agent };

/** What a client certificate offers for a binding lookup. */
export interface CertificateIdentity {
  fingerprint256: string;
  spiffeIds: string[];
  subjectCn: string | undefined;
}

/** Client certificate bindings in Postgres. */
/** Lists are sorted by id: the cursor is the last id. */
const CERTIFICATE_CURSOR = cursorCodec('certificates', CURSOR_KEYS.uuid);

@Injectable()
export class CertificateBindingRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(agentId: string, kind: CertificateBindingKind, value: string): Promise<CertificateBinding> {
    try {
      return await this.prisma.certificateBinding.create({ data: { agentId, kind, value } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2002') throw new GatewayError('CONFLICT', `this ${kind} is already bound to an agent`);
      throw error;
    }
  }

  find(id: string): Promise<CertificateBinding | null> {
    return this.prisma.certificateBinding.findUnique({ where: { id } });
  }

  async listForAgent(agentId: string, page: PageRequest): Promise<Page<CertificateBinding>> {
    const [after] = CERTIFICATE_CURSOR.decode(page.cursor) ?? [];
    const rows = await this.prisma.certificateBinding.findMany({
      where: { agentId, ...(after !== undefined && { id: { gt: after } }) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return pageOf(rows, page.limit, CERTIFICATE_CURSOR, (b) => [b.id]);
  }

  async delete(id: string): Promise<CertificateBinding | null> {
    try {
      return await this.prisma.certificateBinding.delete({ where: { id } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2025') return null;
      throw error;
    }
  }

  /** The binding a certificate matches, most specific first: fingerprint, then SPIFFE ID, then CN. */
  async findFor(identity: CertificateIdentity): Promise<CertificateBindingWithAgent | null> {
    const candidates = await this.prisma.certificateBinding.findMany({
      where: {
        OR: [
          { kind: 'fingerprint', value: identity.fingerprint256 },
          ...(identity.spiffeIds.length > 0 ? [{ kind: 'spiffe' as const, value: { in: identity.spiffeIds } }] : []),
          ...(identity.subjectCn !== undefined ? [{ kind: 'cn' as const, value: identity.subjectCn }] : []),
        ],
      },
      include: { agent: true },
    });
    const rank: Record<CertificateBindingKind, number> = { fingerprint: 0, spiffe: 1, cn: 2 };
    return candidates.sort((a, b) => rank[a.kind] - rank[b.kind])[0] ?? null;
  }

  /** Of the given binding ids, those that no longer exist. */
  async missing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.prisma.certificateBinding.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const ok = new Set(found.map((b) => b.id));
    return ids.filter((id) => !ok.has(id));
  }
}
