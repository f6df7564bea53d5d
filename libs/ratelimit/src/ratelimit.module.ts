import { Module } from '@nestjs/common';
import { RateLimitConfigRepository } from './rate-limit-config.repository.js';
import { RateLimitConfigService } from './rate-limit-config.service.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { TokenBucketRepository } from './token-bucket.repository.js';

/** Shared rate limits (contract §7.2). */
@Module({
  providers: [RateLimitConfigRepository, RateLimitConfigService, TokenBucketRepository, RateLimiterService],
  exports: [RateLimitConfigService, RateLimiterService],
})
export class RateLimitModule {}
