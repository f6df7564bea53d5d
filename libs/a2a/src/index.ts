/** A2A (issue 13, contract §9). Outbound: remote A2A agents reached by the gateway's own client. */
export { A2aOutboundModule } from './outbound/a2a-outbound.module.js';
export { RemoteAgentRegistration } from './outbound/remote-agent.registration.js';
export { a2aCredentialSchema, a2aUrlSchema } from './outbound/a2a-credential.js';
export type { A2aCredential } from './outbound/a2a-credential.js';
