import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import type { Session } from './session.js';

/**
 * Slow consumers: a client that stops reading makes the gateway hold everything sent to it. Before
 * each delivery the routing core asks here; a session whose connection holds more than
 * `SEND_BUFFER_LIMIT_BYTES` gets nothing more and is reported to the session service, which closes
 * it with `slow_consumer` (not terminal: the client may reconnect and read faster).
 */
@Injectable()
export class Backpressure {
  private readonly limit: number;
  private readonly listeners: ((session: Session) => void)[] = [];

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.limit = config.agentPlane.sendBufferLimitBytes;
  }

  /** Called by the session service: what to do with a session that stopped reading. */
  onOverflow(listener: (session: Session) => void): void {
    this.listeners.push(listener);
  }

  /** True when the session may be sent one more frame; otherwise it is reported (once) and false. */
  admits(session: Session): boolean {
    if (session.connection.backlogBytes() <= this.limit) return true;
    if (!session.closed) for (const listener of this.listeners) listener(session);
    return false;
  }
}
