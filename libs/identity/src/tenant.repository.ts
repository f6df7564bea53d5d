import { Injectable } from '@nestjs/common';
import { PrismaService, prismaErrorCode, type Tenant } from '#libs/persistence';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { pageOf, type Page, type PageRequest } from './paging.js';

/** Tenants in Postgres. */
/** Lists are sorted by id: the cursor is the last id. */
const TENANT_CURSOR = cursorCodec('tenants', CURSOR_KEYS.tenantId);

@Injectable()
export class TenantRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(id: string, name: string): Promise<Tenant> {
    try {
      return await this.prisma.tenant.create({ data: { id, name } });
    } catch (error) {
      if (prismaErrorCode(error) === 'P2002') throw new GatewayError('CONFLICT', `tenant "${id}" already exists`);
      throw error;
    }
  }

  /** Creates the tenant unless it exists (INSERT … ON CONFLICT DO NOTHING: safe when callers race). */
  async ensure(id: string, name: string): Promise<Tenant> {
    await this.prisma.tenant.createMany({ data: [{ id, name }], skipDuplicates: true });
    return this.prisma.tenant.findUniqueOrThrow({ where: { id } });
  }

  find(id: string): Promise<Tenant | null> {
    return this.prisma.tenant.findUnique({ where: { id } });
  }

  async list(page: PageRequest): Promise<Page<Tenant>> {
    const [after] = TENANT_CURSOR.decode(page.cursor) ?? [];
    const rows = await this.prisma.tenant.findMany({
      ...(after !== undefined && { where: { id: { gt: after } } }),
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return pageOf(rows, page.limit, TENANT_CURSOR, (t) => [t.id]);
  }
}
