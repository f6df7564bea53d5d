import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import type { GatewayConfig } from '#libs/config';
import { AgentCommandDispatcher } from './agent-command.dispatcher.js';
import { Backpressure } from './backpressure.js';
import { ClusterBus } from './cluster.bus.js';
import { ClusterMembership } from './cluster-membership.js';
import { ConversationRepository } from './conversation.repository.js';
import { CredentialWatch } from './credential-watch.js';
import { DirectoryService } from './directory.service.js';
import { MESSAGE_GUARDS, type MessageGuard } from './guards.js';
import { AuthorizationGuard } from './guards/authorization.guard.js';
import { RateLimitGuard } from './guards/rate-limit.guard.js';
import { TopicRepository } from './topic.repository.js';
import { TopicService } from './topic.service.js';
import { PolicyModule } from '#libs/policy';
import { RateLimitModule } from '#libs/ratelimit';
import { MessageCounterRepository } from './message-counter.repository.js';
import { NodeRepository } from './node.repository.js';
import { PresenceRepository } from './presence.repository.js';
import { RoutingService } from './routing.service.js';
import { SessionRegistry } from './session.registry.js';
import { SessionMetricsSampler } from './session-metrics.sampler.js';
import {
  PresenceSweep,
  SessionAdmission,
  SessionCapacity,
  SessionCards,
  SessionDrain,
  SessionLifecycle,
  SessionRefresh,
} from './sessions/index.js';

/**
 * The transport-agnostic routing core. `remoteAgents`: a module exporting `REMOTE_AGENTS` (the
 * A2A outbound module), through which sends reach agents registered with `a2a_url`.
 */
@Module({})
export class RoutingModule {
  static forRoot(config: GatewayConfig, remoteAgents?: Type | DynamicModule): DynamicModule {
    return {
      module: RoutingModule,
      imports: [AuthModule.forConfig(config), PolicyModule, RateLimitModule, ...(remoteAgents ? [remoteAgents] : [])],
      providers: [
        Backpressure,
        SessionRegistry,
        PresenceRepository,
        ConversationRepository,
        MessageCounterRepository,
        NodeRepository,
        ClusterMembership,
        ClusterBus,
        RoutingService,
        SessionMetricsSampler,
        SessionCapacity,
        SessionCards,
        SessionLifecycle,
        SessionAdmission,
        SessionRefresh,
        PresenceSweep,
        SessionDrain,
        CredentialWatch,
        DirectoryService,
        AgentCommandDispatcher,
        TopicRepository,
        TopicService,
        // The pipeline after size and schema, in this order: authorization, then rate limit.
        AuthorizationGuard,
        RateLimitGuard,
        { provide: MESSAGE_GUARDS, inject: [AuthorizationGuard, RateLimitGuard], useFactory: (...guards: MessageGuard[]) => guards },
      ],
      exports: [
        AuthModule,
        PolicyModule,
        RateLimitModule,
        SessionAdmission,
        SessionLifecycle,
        SessionDrain,
        RoutingService,
        DirectoryService,
        AgentCommandDispatcher,
      ],
    };
  }
}
