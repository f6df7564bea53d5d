import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '#libs/persistence';

/** A stored policy document with its version. */
export interface StoredPolicy {
  tenantId: string;
  document: unknown;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** Tenant policies in Postgres. */
@Injectable()
export class PolicyRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(tenantId: string): Promise<StoredPolicy | null> {
    return this.prisma.tenantPolicy.findUnique({ where: { tenantId } });
  }

  /** Stores the document (version + 1); returns the previous one (null if none) and the new one. */
  async put(
    tenantId: string,
    document: Prisma.InputJsonObject,
    actor: string,
  ): Promise<{ before: StoredPolicy | null; after: StoredPolicy }> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.tenantPolicy.findUnique({ where: { tenantId } });
      const after = await tx.tenantPolicy.upsert({
        where: { tenantId },
        create: { tenantId, document, updatedBy: actor },
        update: { document, updatedBy: actor, version: { increment: 1 } },
      });
      return { before, after };
    });
  }
}
