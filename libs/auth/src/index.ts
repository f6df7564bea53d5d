/** The auth plane: verifiers behind one interface, each returning a {@link Principal}. */
export { AuthModule, AuthThrottleModule } from './auth.module.js';
export { AuthThrottle } from './auth-throttle.js';
export { AuthService } from './auth.service.js';
export { CREDENTIAL_VERIFIERS } from './credential.verifier.js';
export type { CredentialVerifier } from './credential.verifier.js';
export type { AgentProfile, CredentialTransport, PresentedCredentials, Principal } from './principal.js';
export { certificateFromTls, certificateFromXfcc } from './client-certificate.js';
export type { PresentedCertificate } from './client-certificate.js';
export { parseXfcc } from './xfcc.js';
export { resolveClientAddress } from './client-address.js';
export { profileOf } from './agent-profile.js';
export { OidcIssuerClient } from './oidc-issuer.client.js';
export type { AccessTokenClaims } from './oidc-issuer.client.js';
