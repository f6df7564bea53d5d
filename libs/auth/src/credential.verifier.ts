import type { AuthMethod } from '#libs/protocol';
import type { PresentedCredentials, Principal } from './principal.js';

/**
 * One authentication method. `accepts` looks at the shape of what was presented (cheap, no I/O);
 * `verify` checks it and returns the {@link Principal} or throws a `GatewayError` with
 * `UNAUTHORIZED` (bad credential) or `UNAVAILABLE` (a dependency needed to check it is down).
 */
export interface CredentialVerifier {
  readonly method: AuthMethod;
  accepts(credentials: PresentedCredentials): boolean;
  verify(credentials: PresentedCredentials): Promise<Principal>;
}

/** Injection token of the verifiers enabled by `AUTH_METHODS`, in the order they are tried. */
export const CREDENTIAL_VERIFIERS = Symbol('CREDENTIAL_VERIFIERS');
