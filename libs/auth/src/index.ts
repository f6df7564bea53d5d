/** The auth plane: verifiers behind one interface, each returning a {@link Principal}. */
export { AuthModule } from './auth.module.js';
export { AuthService } from './auth.service.js';
export { CREDENTIAL_VERIFIERS } from './credential.verifier.js';
export type { CredentialVerifier } from './credential.verifier.js';
export type { AgentProfile, CredentialTransport, PresentedCredentials, Principal } from './principal.js';
