/** Identities (contract §2): tenants, registered agents and the records of their credentials. */
export { IdentityModule } from './identity.module.js';
export { IdentityService } from './identity.service.js';
export type { IssuedApiToken } from './identity.service.js';
export { AgentRepository } from './agent.repository.js';
export type { AgentCreate } from './agent.repository.js';
export { ApiTokenRepository } from './api-token.repository.js';
export type { ApiTokenWithAgent } from './api-token.repository.js';
export { API_TOKEN_PREFIX, apiTokenHint, generateApiToken, hashApiToken, looksLikeApiToken } from './api-token.js';
