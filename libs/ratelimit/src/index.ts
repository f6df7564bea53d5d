/** Rate limits (contract §7.2): shared token buckets in Redis with per-node leases, and their configuration. */
export { RateLimitModule } from './ratelimit.module.js';
export { RateLimiterService } from './rate-limiter.service.js';
export { RateLimitConfigService } from './rate-limit-config.service.js';
export type { RateLimitView } from './rate-limit-config.service.js';
export { rateLimitDocumentSchema, resolveConnectLimit, resolveMessageLimits } from './rate-limit.document.js';
export type { MessageLimits, RateLimitDocument } from './rate-limit.document.js';
