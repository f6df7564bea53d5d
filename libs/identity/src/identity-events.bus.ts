import { Injectable, Logger } from '@nestjs/common';
import { RedisBus } from '#libs/redis';

/** A change to identities that live sessions on every node must react to. */
export type IdentityEvent =
  /** A credential (API token, certificate binding, OIDC subject binding) stopped being valid. */
  | { type: 'credential_revoked'; credential_id: string; agent_id: string }
  /** The agent was disabled or deleted: every session of it ends. */
  | { type: 'agent_revoked'; agent_id: string }
  /** The agent's registration changed: sessions take the new name and capabilities. */
  | {
      type: 'agent_changed';
      agent_id: string;
      agent_name: string;
      capabilities: string[];
      description: string | null;
      metadata: Record<string, unknown>;
    };

const CHANNEL = 'identity';

/**
 * Identity events between nodes over Redis pub/sub. Delivery is at most once; the periodic
 * re-check of live sessions' credentials (`CREDENTIAL_RECHECK_S`) catches what a node missed.
 */
@Injectable()
export class IdentityEventsBus {
  private readonly logger = new Logger('IdentityEvents');

  private readonly handlers: ((event: IdentityEvent) => void)[] = [];
  private subscribed: Promise<void> | null = null;

  constructor(private readonly bus: RedisBus) {}

  async publish(event: IdentityEvent): Promise<void> {
    try {
      await this.bus.publish(CHANNEL, event);
    } catch (error) {
      // The change is in Postgres; nodes pick it up at their next re-check.
      this.logger.error(
        `identity event not broadcast (${event.type}): ${(error as Error).message}; nodes apply it at their next credential re-check`,
      );
    }
  }

  /** Calls `handler` with every identity event (several handlers on one node each get every event). */
  subscribe(handler: (event: IdentityEvent) => void): Promise<void> {
    this.handlers.push(handler);
    this.subscribed ??= this.bus.subscribe(CHANNEL, (message) => {
      for (const each of this.handlers) {
        try {
          each(message as IdentityEvent);
        } catch (error) {
          this.logger.error(`identity event handler failed (${(message as IdentityEvent).type}): ${(error as Error).message}`);
        }
      }
    });
    return this.subscribed;
  }
}
