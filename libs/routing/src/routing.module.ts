import { Module, type DynamicModule, type ModuleMetadata, type Type } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import type { GatewayConfig } from '#libs/config';
import { AgentCommandDispatcher } from './agent-command.dispatcher.js';
import { ClusterBus } from './cluster.bus.js';
import { ConversationRepository } from './conversation.repository.js';
import { CredentialWatch } from './credential-watch.js';
import { DirectoryService } from './directory.service.js';
import { MESSAGE_GUARDS, type MessageGuard } from './guards.js';
import { MessageCounterRepository } from './message-counter.repository.js';
import { NodeRepository } from './node.repository.js';
import { PresenceRepository } from './presence.repository.js';
import { RoutingService } from './routing.service.js';
import { SessionRegistry } from './session.registry.js';
import { SessionService } from './session.service.js';

/** Options of {@link RoutingModule.forRoot}. */
export interface RoutingModuleOptions {
  /** Modules providing the guards. */
  imports?: ModuleMetadata['imports'];
  /** Message guards in pipeline order (after size and schema). */
  messageGuards?: Type<MessageGuard>[];
}

/** The transport-agnostic routing core. */
@Module({})
export class RoutingModule {
  static forRoot(config: GatewayConfig, options: RoutingModuleOptions = {}): DynamicModule {
    const guards = options.messageGuards ?? [];
    return {
      module: RoutingModule,
      imports: [AuthModule.forConfig(config), ...(options.imports ?? [])],
      providers: [
        SessionRegistry,
        PresenceRepository,
        ConversationRepository,
        MessageCounterRepository,
        NodeRepository,
        ClusterBus,
        RoutingService,
        SessionService,
        CredentialWatch,
        DirectoryService,
        AgentCommandDispatcher,
        ...guards,
        { provide: MESSAGE_GUARDS, inject: guards, useFactory: (...instances: MessageGuard[]) => instances },
      ],
      exports: [AuthModule, SessionService, RoutingService, DirectoryService, AgentCommandDispatcher],
    };
  }
}
