import { Module } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import { REMOTE_AGENTS } from '#libs/routing';
import { SecretsModule } from '#libs/secrets';
import { A2AClientPool } from './a2a-client.pool.js';
import { A2AOutboundService } from './a2a-outbound.service.js';
import { EgressPolicy } from './egress.policy.js';
import { RemoteAgentDirectory } from './remote-agent.directory.js';
import { RemoteAgentRegistration } from './remote-agent.registration.js';

/**
 * Remote A2A agents (issue 13, outbound): their registration (egress-checked URL, sealed
 * credential) for the admin API, and `REMOTE_AGENTS` for routing (give this module to
 * `RoutingModule.forRoot`).
 */
@Module({
  imports: [IdentityModule, SecretsModule],
  providers: [
    {
      provide: EgressPolicy,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => new EgressPolicy(config.a2aOutbound.egressAllow),
    },
    RemoteAgentDirectory,
    RemoteAgentRegistration,
    A2AClientPool,
    A2AOutboundService,
    { provide: REMOTE_AGENTS, useExisting: A2AOutboundService },
  ],
  exports: [REMOTE_AGENTS, RemoteAgentRegistration],
})
export class A2AOutboundModule {}
