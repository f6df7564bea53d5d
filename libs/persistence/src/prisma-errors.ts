import { Prisma } from './generated/client.js';

/** The Prisma error code (`P2002` unique violation, `P2003` foreign key, `P2025` not found), if any. */
export function prismaErrorCode(error: unknown): string | undefined {
  return error instanceof Prisma.PrismaClientKnownRequestError ? error.code : undefined;
}
