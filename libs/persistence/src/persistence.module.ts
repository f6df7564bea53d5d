import { Global, Module, type DynamicModule } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';

/** Provides {@link PrismaService} to the repositories of every feature library. */
@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class PersistenceModule {}

/**
 * The second application of a process (the admin plane next to the agent plane) on the first
 * one's {@link PrismaService}: one pg pool, one `DATABASE_POOL_SIZE`, per process. The pool closes
 * when the last application holding it shuts down.
 */
@Global()
@Module({})
export class SharedPersistenceModule {
  static withInstance(prisma: PrismaService): DynamicModule {
    return {
      module: SharedPersistenceModule,
      providers: [{ provide: PrismaService, useFactory: () => prisma.retain() }],
      exports: [PrismaService],
    };
  }
}
