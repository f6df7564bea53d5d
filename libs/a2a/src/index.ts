/** A2A (contract §9): every agent reachable by the Agent2Agent protocol, and remote A2A agents reachable by ours. */
import { A2AInboundService } from './inbound/a2a-inbound.service.js';
import { A2ATaskEvents } from './inbound/a2a-task-events.js';
import { A2ATaskRepository } from './inbound/a2a-task.repository.js';

export { A2AInboundService };
export type { A2AReply } from './inbound/a2a-inbound.service.js';

/**
 * The providers of A2A on the agent plane. They inject the routing core's exports (dispatcher,
 * routing, directory), so the agent plane module, which imports the routing module, provides them.
 */
export const A2A_PROVIDERS = [A2AInboundService, A2ATaskRepository, A2ATaskEvents];

// Outbound: remote A2A agents reached by the gateway's own client (docs/a2a.md, "Outbound").
export { A2AOutboundModule } from './outbound/a2a-outbound.module.js';
export { RemoteAgentRegistration } from './outbound/remote-agent.registration.js';
export { a2aCredentialSchema, a2aUrlSchema } from './outbound/a2a-credential.js';
export type { A2ACredential } from './outbound/a2a-credential.js';
