import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { ClusterMembership } from '../cluster-membership.js';
import { MessageCounterRepository } from '../message-counter.repository.js';
import { PresenceRepository } from '../presence.repository.js';
import type { Session } from '../session.js';
import { SessionRegistry } from '../session.registry.js';
import { presenceEntryOf } from './presence-entry.js';
import { SessionLifecycle } from './session-lifecycle.js';

/**
 * The node's periodic sweep: closes sessions silent for longer than the heartbeat time-out,
 * refreshes the presence of all the others in one Redis round trip (closing those another node
 * took over), and flushes the message counters. Also joins the cluster at start, and writes this
 * node's presence again when it was reaped while it could not reach Redis.
 */
@Injectable()
export class PresenceSweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private readonly startedAt = new Date();
  private readonly intervalMs: number;
  private readonly presenceTtlMs: number;
  private readonly silenceTimeoutMs: number;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping = false;
  private failing = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: SessionRegistry,
    private readonly presence: PresenceRepository,
    private readonly membership: ClusterMembership,
    private readonly counters: MessageCounterRepository,
    private readonly lifecycle: SessionLifecycle,
  ) {
    this.silenceTimeoutMs = config.heartbeat.timeoutS * 1000;
    this.presenceTtlMs = this.silenceTimeoutMs;
    // Several sweeps per time-out, so a dead node's entries outlive it by at most one time-out.
    this.intervalMs = Math.max(250, Math.min(5_000, Math.floor(this.silenceTimeoutMs / 4)));
  }

  async onApplicationBootstrap(): Promise<void> {
    // Reaped by other nodes while it could not reach Redis: write this node's presence again now.
    this.membership.onRejoin(() => void this.sweep());
    await this.membership.join({
      node_id: this.config.nodeId,
      version: this.config.version,
      max_connections: this.config.agentPlane.maxConnections,
      started_at: this.startedAt.toISOString(),
    });
    this.sweeper = setInterval(() => void this.sweep(), this.intervalMs);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      const live: Session[] = [];
      for (const session of this.registry.all()) {
        if (now - session.lastSeenAt > this.silenceTimeoutMs) {
          this.lifecycle.close(session, 'heartbeat_timeout', `no heartbeat for ${this.config.heartbeat.timeoutS} s`);
        } else {
          live.push(session);
        }
      }
      const outcomes = await this.presence.refresh(
        live.map((s) => presenceEntryOf(s, s.connection.transport, this.config.nodeId)),
        this.presenceTtlMs,
      );
      outcomes.forEach((outcome, i) => {
        const session = live[i];
        if (outcome === 'taken' && session) this.lifecycle.close(session, 'replaced', 'a newer connection authenticated as this agent');
      });
      await this.counters.flush();
      if (this.failing) this.logger.log('presence refresh recovered');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.error(`presence refresh failed (Redis down?): ${(error as Error).message}`);
      this.failing = true;
    } finally {
      this.sweeping = false;
    }
  }
}
