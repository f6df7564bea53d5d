import { Module } from '@nestjs/common';
import { HealthController } from '#libs/observability';
import { RoutingModule } from '#libs/routing';
import { AgentAuthGuard } from './http/agent-auth.guard.js';
import { AgentHttpController } from './http/agent-http.controller.js';
import { AgentGateway } from './socket/agent.gateway.js';

/** The agent plane: socket.io and the agent HTTP API over the routing core. */
@Module({
  imports: [RoutingModule.forRoot()],
  controllers: [AgentHttpController, HealthController],
  providers: [AgentGateway, AgentAuthGuard],
})
export class AgentPlaneModule {}
