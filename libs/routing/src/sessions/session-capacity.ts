import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError, limitExceeded } from '#libs/protocol';
import { AddressSlots } from '../address-slots.js';
import { SessionRegistry } from '../session.registry.js';

/**
 * Room for sessions on this node: `MAX_CONNECTIONS` (live sessions and those still being
 * admitted, so connections that arrive together cannot all pass the check while each is still
 * authenticating) and `MAX_CONNECTIONS_PER_ADDRESS` (held from admission until the connection closes).
 */
@Injectable()
export class SessionCapacity {
  private readonly addressSlots: AddressSlots;
  /** Sessions admitted but not yet activated or abandoned by their transport. */
  private readonly admitting = new Set<string>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: SessionRegistry,
    private readonly metrics: MetricsService,
  ) {
    this.addressSlots = new AddressSlots(config.agentPlane.maxConnectionsPerAddress);
  }

  /** Holds a place for session `sessionId` from `address`, or refuses with the limit it is over. */
  reserve(sessionId: string, address: string): void {
    if (this.registry.size + this.admitting.size >= this.config.agentPlane.maxConnections)
      throw new GatewayError('UNAVAILABLE', 'this gateway node is at capacity; retry later');
    if (!this.addressSlots.take(address)) {
      this.metrics.limitRefusals.labels('max_connections_per_address').inc();
      throw limitExceeded(
        'max_connections_per_address',
        `this address holds ${this.config.agentPlane.maxConnectionsPerAddress} connections to this node (MAX_CONNECTIONS_PER_ADDRESS); retry later`,
      );
    }
    this.admitting.add(sessionId);
  }

  /** The admitted session became live: it counts in the registry from now on (its address slot stays held). */
  activated(sessionId: string): void {
    this.admitting.delete(sessionId);
  }

  /** Gives back everything {@link reserve} held: the session was refused or its connection never opened. */
  cancel(sessionId: string, address: string): void {
    this.admitting.delete(sessionId);
    this.addressSlots.give(address);
  }

  /** A live session from `address` closed. */
  closed(address: string): void {
    this.addressSlots.give(address);
  }
}
