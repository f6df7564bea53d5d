import { Module, type Provider } from '@nestjs/common';
import type { GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import type { AuthMethod } from '#libs/protocol';
import { AuthFailureRepository } from './auth-failure.repository.js';
import { AuthThrottle } from './auth-throttle.js';
import { AuthService } from './auth.service.js';
import { CREDENTIAL_VERIFIERS, type CredentialVerifier } from './credential.verifier.js';
import { MtlsVerifier } from './mtls.verifier.js';
import { NoneVerifier } from './none.verifier.js';
import { OidcIssuerClient } from './oidc-issuer.client.js';
import { OidcVerifier } from './oidc.verifier.js';
import { TokenVerifier } from './token.verifier.js';

// Token-shaped credentials first (API tokens by prefix, then IdP tokens), then certificates, then
// `none`, which only takes connections that present nothing.
const ORDER: AuthMethod[] = ['token', 'oidc', 'mtls', 'none'];

const VERIFIERS: Record<AuthMethod, Provider & { provide: unknown }> = {
  token: { provide: TokenVerifier, useClass: TokenVerifier },
  oidc: { provide: OidcVerifier, useClass: OidcVerifier },
  mtls: { provide: MtlsVerifier, useClass: MtlsVerifier },
  none: { provide: NoneVerifier, useClass: NoneVerifier },
};

/** The brute-force throttle on its own, for listeners that authenticate something else (the admin API). */
@Module({ providers: [AuthFailureRepository, AuthThrottle], exports: [AuthThrottle] })
export class AuthThrottleModule {}

/** The auth plane: one verifier per enabled method behind {@link AuthService}. */
@Module({})
export class AuthModule {
  /** Wires the verifiers of `AUTH_METHODS` (only those: a disabled method's verifier is never built). */
  static forConfig(config: GatewayConfig) {
    const enabled = ORDER.filter((m) => config.auth.methods.includes(m));
    const verifiers = enabled.map((m) => VERIFIERS[m]);
    return {
      module: AuthModule,
      imports: [IdentityModule, AuthThrottleModule],
      providers: [
        ...verifiers,
        ...(enabled.includes('oidc') && config.oidc
          ? [{ provide: OidcIssuerClient, useValue: new OidcIssuerClient(config.oidc, 'OidcIssuer') }]
          : []),
        {
          provide: CREDENTIAL_VERIFIERS,
          inject: verifiers.map((v) => v.provide as never),
          useFactory: (...instances: CredentialVerifier[]) => instances,
        },
        AuthService,
      ],
      exports: [AuthService, IdentityModule],
    };
  }
}
