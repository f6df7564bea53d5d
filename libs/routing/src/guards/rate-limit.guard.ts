import { Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GatewayError, type ClientEventName } from '#libs/protocol';
import { RateLimiterService } from '#libs/ratelimit';
import type { MessageContext, MessageGuard } from '../guards.js';

/** Events that do not count (contract §7.2): keeping a session alive and answering are never limited. */
const UNCOUNTED: ReadonlySet<ClientEventName> = new Set(['heartbeat', 'ping', 'result']);

/** The rate-limit stage: counts every client event but `heartbeat`, `ping` and `result`. */
@Injectable()
export class RateLimitGuard implements MessageGuard {
  readonly alsoOnRefusal = true;

  constructor(
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditTrail,
  ) {}

  async check(context: MessageContext): Promise<void> {
    if (UNCOUNTED.has(context.event)) return;
    try {
      await this.limiter.consumeMessage(context.caller.tenantId, context.caller.agentId);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'RATE_LIMIT') {
        context.audited = true;
        this.audit.record({
          action: 'message.rate_limited',
          tenant_id: context.caller.tenantId,
          actor: { type: 'agent', id: context.caller.agentId },
          subject: context.event,
          outcome: 'denied',
          reason: 'RATE_LIMIT',
          session_id: context.caller.session?.id ?? null,
          remote_addr: context.caller.remoteAddress,
          details: { event: context.event, retry_after_ms: error.retryAfterMs },
        });
      }
      throw error;
    }
  }
}
