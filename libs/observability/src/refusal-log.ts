import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { GatewayError } from '#libs/protocol';
import { MetricsService } from './metrics.service.js';

/** Lines per second one process writes about refusals; past it they are counted, not written. */
const LINES_PER_SECOND = 100;

/** Where a refusal happened and to whom, for its log line. Never a credential. */
export interface RefusalContext {
  /** The pipeline stage: `connect`, an event name (`send`, `update_card`…), `http GET /admin/v1/agents`. */
  where: string;
  agentId?: string | null;
  sessionId?: string | null;
  remoteAddr?: string | null;
  /** A valid correlation id the client sent (`X-Request-Id`), used instead of a new one. */
  requestId?: string | undefined;
}

/**
 * The correlation id of every refusal, and its log line. The transport boundary that answers a
 * refusal calls {@link note} once: the error gets its `request_id` (sent to the client, stored in the
 * audit record) and the same id goes on a log line with the code, the reason and who was refused,
 * so an operator can find why an agent was turned away from the id the agent reports. A flood of
 * refusals cannot flood the log: past {@link LINES_PER_SECOND} a second, lines are counted, and
 * the count is written once the second is over.
 */
@Injectable()
export class RefusalLog {
  private readonly logger = new Logger('Refusal');
  private windowStart = 0;
  private lines = 0;
  private suppressed = 0;

  constructor(private readonly metrics: MetricsService) {}

  /** Gives `error` its request id (unless it has one: then it was logged already) and logs it. */
  note(error: GatewayError, context: RefusalContext): GatewayError {
    if (error.requestId !== undefined) return error;
    error.requestId = context.requestId ?? randomUUID();
    this.metrics.refusalLines.inc();
    if (!this.budget()) return error;
    this.logger.log({
      event: 'refused',
      request_id: error.requestId,
      code: error.code,
      ...(error.reason !== undefined && { reason: error.reason }),
      message: error.message,
      where: context.where,
      ...(context.agentId && { agent_id: context.agentId }),
      ...(context.sessionId && { session_id: context.sessionId }),
      ...(context.remoteAddr && { remote_addr: context.remoteAddr }),
    });
    return error;
  }

  private budget(now = Date.now()): boolean {
    if (now - this.windowStart >= 1000) {
      this.reportSuppressed();
      this.windowStart = now;
      this.lines = 0;
    }
    if (this.lines < LINES_PER_SECOND) {
      this.lines++;
      return true;
    }
    // The count goes out when the second is over, whether or not another refusal comes.
    if (this.suppressed++ === 0) setTimeout(() => this.reportSuppressed(), this.windowStart + 1000 - now).unref();
    return false;
  }

  private reportSuppressed(): void {
    if (this.suppressed === 0) return;
    this.logger.warn({ event: 'refusals_not_logged', count: this.suppressed, per_second_limit: LINES_PER_SECOND });
    this.suppressed = 0;
  }
}
