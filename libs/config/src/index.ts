/** Configuration: one schema, validated once at boot into a typed object. */
export {
  ADMIN_ROLES,
  BUILT_IN_RATE_LIMIT_DEFAULTS,
  CONFIG_KEYS,
  ConfigError,
  loadConfig,
  rateLimitDefaultsSchema,
  scrubConfigSecrets,
} from './config.schema.js';
export type {
  AdminRoleGrant,
  AdminRoleName,
  ConfigKey,
  ConfigKeyName,
  GatewayConfig,
  OidcIssuerSettings,
  RateLimitDefaults,
} from './config.schema.js';
export { ConfigModule, GATEWAY_CONFIG } from './config.module.js';
export { renderConfigTable, replaceConfigTable } from './config-table.js';
export { hostPortOf, redactUrl, scrubSecrets } from './redact.js';
export { parseEndpoint, parseSentinelUrl, redisTopology } from './redis-topology.js';
export type { RedisEndpoint, RedisTopology } from './redis-topology.js';
export { projectRoot, readVersion } from './version.js';
export { addressMatcher, parseCidr } from './cidr.js';
export { parseEgressEntry } from './egress-allow.js';
export { OTLP_PROTOCOLS, TRACE_SAMPLERS } from './otel.js';
export type { OtlpProtocol, TraceSamplerName } from './otel.js';
export type { EgressAllowEntry } from './egress-allow.js';
