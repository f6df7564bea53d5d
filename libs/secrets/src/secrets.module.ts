import { Module } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { SecretBox } from './secret-box.js';

/** The process's {@link SecretBox}, keyed from `SECRETS_KEY` (and `SECRETS_KEY_PREVIOUS`). */
@Module({
  providers: [
    {
      provide: SecretBox,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => new SecretBox(config.secrets.key, config.secrets.previousKeys),
    },
  ],
  exports: [SecretBox],
})
export class SecretsModule {}
