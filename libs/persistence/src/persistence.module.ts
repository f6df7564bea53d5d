import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';

/** Provides {@link PrismaService} to the repositories of every feature library. */
@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class PersistenceModule {}
