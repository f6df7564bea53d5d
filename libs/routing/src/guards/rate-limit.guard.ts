import { Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { RefusalLog } from '#libs/observability';
import { GatewayError, type ClientEventName } from '#libs/protocol';
import { SPANS } from '#libs/telemetry';
import { RateLimiterService } from '#libs/ratelimit';
import type { MessageContext, MessageGuard } from '../guards.js';
import { protocolDetails, type Caller } from '../session.js';

/** Events that do not count (contract §7.2): keeping a session alive and answering are never limited. */
const UNCOUNTED: ReadonlySet<ClientEventName> = new Set(['heartbeat', 'ping', 'result']);

/** The rate-limit stage: counts every client event but `heartbeat`, `ping` and `result`. */
@Injectable()
export class RateLimitGuard implements MessageGuard {
  readonly spanName = SPANS.rateLimit;
  readonly alsoOnRefusal = true;

  constructor(
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditTrail,
    private readonly refusals: RefusalLog,
  ) {}

  async check(context: MessageContext): Promise<void> {
    if (UNCOUNTED.has(context.event)) return;
    try {
      await this.consume(context.caller, context.event);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'RATE_LIMIT') context.audited = true;
      throw error;
    }
  }

  /** A frame refused before the guards counts as one event (unless it names an uncounted one). */
  async checkRefused(caller: Caller, event: string): Promise<void> {
    if (UNCOUNTED.has(event as ClientEventName)) return;
    await this.consume(caller, event);
  }

  private async consume(caller: Caller, event: string): Promise<void> {
    try {
      await this.limiter.consumeMessage(caller.tenantId, caller.agentId);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'RATE_LIMIT') {
        this.refusals.note(error, {
          where: event.slice(0, 64),
          agentId: caller.agentId,
          sessionId: caller.session?.id ?? null,
          remoteAddr: caller.remoteAddress,
        });
        this.audit.record({
          action: 'message.rate_limited',
          tenant_id: caller.tenantId,
          actor: { type: 'agent', id: caller.agentId },
          subject: event.slice(0, 64),
          outcome: 'denied',
          reason: 'RATE_LIMIT',
          session_id: caller.session?.id ?? null,
          remote_addr: caller.remoteAddress,
          details: {
            ...protocolDetails(caller),
            event: event.slice(0, 64),
            retry_after_ms: error.retryAfterMs,
            request_id: error.requestId,
          },
        });
      }
      throw error;
    }
  }
}
