/** Configuration: one schema, validated once at boot into a typed object. */
export { BUILT_IN_RATE_LIMIT_DEFAULTS, CONFIG_KEYS, ConfigError, loadConfig, rateLimitDefaultsSchema } from './config.schema.js';
export type { ConfigKey, ConfigKeyName, GatewayConfig, RateLimitDefaults } from './config.schema.js';
export { ConfigModule, GATEWAY_CONFIG } from './config.module.js';
export { hostPortOf, redactUrl } from './redact.js';
export { readVersion } from './version.js';
export { addressMatcher, parseCidr } from './cidr.js';
