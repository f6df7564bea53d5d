/** Secrets the gateway stores to use later (A2A remote credentials): sealed under SECRETS_KEY. */
export { SecretBox, MIN_SECRETS_KEY_LENGTH } from './secret-box.js';
export type { SealedSecret } from './secret-box.js';
export { SecretsModule } from './secrets.module.js';
