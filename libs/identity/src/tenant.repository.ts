import { Injectable } from '@nestjs/common';
import { PrismaService, type Tenant } from '#libs/persistence';

/** Tenants in Postgres. */
@Injectable()
export class TenantRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(id: string, name: string): Promise<Tenant> {
    return this.prisma.tenant.create({ data: { id, name } });
  }

  upsert(id: string, name: string): Promise<Tenant> {
    return this.prisma.tenant.upsert({ where: { id }, create: { id, name }, update: {} });
  }

  find(id: string): Promise<Tenant | null> {
    return this.prisma.tenant.findUnique({ where: { id } });
  }
}
