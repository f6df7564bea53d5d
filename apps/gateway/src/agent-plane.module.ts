import { Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { A2A_PROVIDERS, A2AOutboundModule } from '#libs/a2a';
import type { GatewayConfig } from '#libs/config';
import { HealthController } from '#libs/observability';
import { RoutingModule } from '#libs/routing';
import { CredentialExtractor } from './auth/credential-extractor.js';
import { A2AController } from './a2a/a2a.controller.js';
import { AgentAuthGuard } from './http/agent-auth.guard.js';
import { AgentHttpController } from './http/agent-http.controller.js';
import { AgentStrategy } from './http/agent.strategy.js';
import { MCP_PROVIDERS, McpController } from './mcp/mcp.module.js';
import { AgentGateway } from './socket/agent.gateway.js';
import { TlsContextReloader } from './tls/tls-context.reloader.js';
import { WebSocketTransport } from './websocket/websocket.transport.js';

/** The agent plane: socket.io, plain WebSocket, the agent HTTP API, A2A and MCP over the routing core. */
@Module({})
export class AgentPlaneModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AgentPlaneModule,
      imports: [RoutingModule.forRoot(config, A2AOutboundModule), PassportModule],
      controllers: [AgentHttpController, A2AController, McpController, HealthController],
      providers: [
        ...A2A_PROVIDERS,
        AgentGateway,
        WebSocketTransport,
        CredentialExtractor,
        AgentStrategy,
        AgentAuthGuard,
        TlsContextReloader,
        ...MCP_PROVIDERS,
      ],
    };
  }
}
