/** Configuration: one schema, validated once at boot into a typed object. */
export { CONFIG_KEYS, ConfigError, loadConfig } from './config.schema.js';
export type { ConfigKey, ConfigKeyName, GatewayConfig } from './config.schema.js';
export { ConfigModule, GATEWAY_CONFIG } from './config.module.js';
export { hostPortOf, redactUrl } from './redact.js';
export { readVersion } from './version.js';
export { addressMatcher, parseCidr } from './cidr.js';
