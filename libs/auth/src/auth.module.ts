import { Module } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import type { AuthMethod } from '#libs/protocol';
import { AuthService } from './auth.service.js';
import { CREDENTIAL_VERIFIERS, type CredentialVerifier } from './credential.verifier.js';
import { NoneVerifier } from './none.verifier.js';
import { TokenVerifier } from './token.verifier.js';

// Token-shaped credentials are tried before `none`, which only takes connections without a token.
const ORDER: AuthMethod[] = ['token', 'oidc', 'mtls', 'none'];

/** The auth plane: one verifier per enabled method behind {@link AuthService}. */
@Module({
  imports: [IdentityModule],
  providers: [
    NoneVerifier,
    TokenVerifier,
    {
      provide: CREDENTIAL_VERIFIERS,
      inject: [GATEWAY_CONFIG, NoneVerifier, TokenVerifier],
      useFactory: (config: GatewayConfig, none: NoneVerifier, token: TokenVerifier): CredentialVerifier[] => {
        const available: Partial<Record<AuthMethod, CredentialVerifier>> = { none, token };
        return ORDER.filter((m) => config.auth.methods.includes(m)).flatMap((m) => {
          const verifier = available[m];
          if (!verifier) throw new Error(`AUTH_METHODS includes "${m}", which this build does not implement yet`);
          return [verifier];
        });
      },
    },
    AuthService,
  ],
  exports: [AuthService],
})
export class AuthModule {}
