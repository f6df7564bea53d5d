import { Injectable } from '@nestjs/common';
import { PrismaService, type Tenant } from '#libs/persistence';

/** Tenants in Postgres. */
@Injectable()
export class TenantRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(id: string, name: string): Promise<Tenant> {
    return this.prisma.tenant.create({ data: { id, name } });
  }

  /** Creates the tenant unless it exists (INSERT … ON CONFLICT DO NOTHING: safe when callers race). */
  async ensure(id: string, name: string): Promise<Tenant> {
    await this.prisma.tenant.createMany({ data: [{ id, name }], skipDuplicates: true });
    return this.prisma.tenant.findUniqueOrThrow({ where: { id } });
  }

  find(id: string): Promise<Tenant | null> {
    return this.prisma.tenant.findUnique({ where: { id } });
  }
}
