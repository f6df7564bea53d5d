import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '#libs/persistence';

/** The stored rate-limit document. */
export interface StoredRateLimits {
  document: unknown;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** The deployment's rate-limit document in Postgres (one row). */
@Injectable()
export class RateLimitConfigRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(): Promise<StoredRateLimits | null> {
    return this.prisma.rateLimitConfig.findUnique({ where: { id: 1 } });
  }

  async put(document: Prisma.InputJsonObject, actor: string): Promise<{ before: StoredRateLimits | null; after: StoredRateLimits }> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.rateLimitConfig.findUnique({ where: { id: 1 } });
      const after = await tx.rateLimitConfig.upsert({
        where: { id: 1 },
        create: { id: 1, document, updatedBy: actor },
        update: { document, updatedBy: actor, version: { increment: 1 } },
      });
      return { before, after };
    });
  }
}
