/** Identities (contract §2): tenants, registered agents and their credentials. */
export { IdentityModule } from './identity.module.js';
export { TenantService } from './tenant.service.js';
export { AgentService } from './agent.service.js';
export { CredentialService, normalizeFingerprint } from './credential.service.js';
export type { ApiTokenOptions, CertificateSelector, CredentialKind, IssuedApiToken } from './credential.service.js';
export { IdentityEventsBus } from './identity-events.bus.js';
export type { IdentityEvent } from './identity-events.bus.js';
export { AgentRepository } from './agent.repository.js';
export type { AgentChange, AgentCreate, AgentFilter, RemoteAgentRow, SealedA2ACredential } from './agent.repository.js';
export { ApiTokenRepository } from './api-token.repository.js';
export type { ApiTokenWithAgent } from './api-token.repository.js';
export { CertificateBindingRepository } from './certificate-binding.repository.js';
export type { CertificateBindingWithAgent, CertificateIdentity } from './certificate-binding.repository.js';
export { OidcSubjectRepository } from './oidc-subject.repository.js';
export type { OidcSubjectWithAgent } from './oidc-subject.repository.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging.js';
export type { Page, PageRequest } from './paging.js';
export {
  API_TOKEN_NAME_PATTERN,
  API_TOKEN_NAME_RULE,
  API_TOKEN_PREFIX,
  apiTokenHint,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
} from './api-token.js';
