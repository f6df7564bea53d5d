import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { ClusterMembership } from '../cluster-membership.js';
import { MessageCounterRepository } from '../message-counter.repository.js';
import { PresenceRepository } from '../presence.repository.js';
import type { Session } from '../session.js';
import { SessionRegistry } from '../session.registry.js';
import { presenceEntryOf } from './presence-entry.js';
import { SessionLifecycle } from './session-lifecycle.js';

// Sessions refreshed per round trip of a sweep.
const REFRESH_CHUNK = 200;

/**
 * The node's periodic sweep: closes sessions silent for longer than the heartbeat time-out,
 * refreshes the directory entries of the others that need it, a few hundred per Redis round trip
 * (closing those another node took over), and flushes the message counters. An entry is rewritten
 * when its session's heartbeat changed since it was written (the directory's `last_heartbeat`
 * lags by at most one sweep) or a quarter of its TTL has passed (it never has less than about half
 * of it left); an idle session whose agent heartbeats every 30 s costs a write every 15 s instead
 * of one per sweep. Also joins the cluster at start, and rewrites every entry when the node was
 * reaped or could not reach Redis for a while (its entries may be gone).
 */
@Injectable()
export class PresenceSweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private readonly startedAt = new Date();
  private readonly intervalMs: number;
  private readonly presenceTtlMs: number;
  private readonly silenceTimeoutMs: number;
  /** Age of an entry (since its last write) at which the sweep rewrites it whatever changed. */
  private readonly rewriteAfterMs: number;
  private rewriteAll = false;
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
    this.rewriteAfterMs = Math.floor(this.presenceTtlMs / 4);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Reaped by other nodes while it could not reach Redis: write this node's presence again now.
    this.membership.onRejoin(() => void this.sweep(true));
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

  /**
   * One sweep (the timer's, or at once after a rejoin); `rewriteAll` rewrites every session's
   * entry. A rewrite asked for while a sweep runs is done by the next one.
   */
  async sweep(rewriteAll = false): Promise<void> {
    this.rewriteAll ||= rewriteAll;
    if (this.sweeping) return;
    this.sweeping = true;
    const everything = this.rewriteAll;
    this.rewriteAll = false;
    try {
      const now = Date.now();
      const due: Session[] = [];
      for (const session of this.registry.all()) {
        if (now - session.lastSeenAt > this.silenceTimeoutMs) {
          this.lifecycle.close(session, 'heartbeat_timeout', `no heartbeat for ${this.config.heartbeat.timeoutS} s`);
        } else if (
          everything ||
          session.lastHeartbeatAt !== session.presenceHeartbeatAt ||
          now - session.presenceWrittenAt >= this.rewriteAfterMs
        ) {
          due.push(session);
        }
      }
      // A chunk per round trip: what one refresh allocates (entries, commands, replies) is short-lived
      // and dies young, instead of a node's whole directory at once surviving into the old generation.
      for (let start = 0; start < due.length; start += REFRESH_CHUNK) {
        const chunk = due.slice(start, start + REFRESH_CHUNK);
        const heartbeats = chunk.map((s) => s.lastHeartbeatAt);
        const outcomes = await this.presence.refresh(
          chunk.map((s) => presenceEntryOf(s, s.connection.transport, this.config.nodeId)),
          this.presenceTtlMs,
        );
        outcomes.forEach((outcome, i) => {
          const session = chunk[i]!;
          if (outcome === 'taken') this.lifecycle.close(session, 'replaced', 'a newer connection authenticated as this agent');
          // Its TTL runs from the write, after `now`: counting from `now` errs on the early side.
          session.presenceWrittenAt = now;
          session.presenceHeartbeatAt = heartbeats[i]!;
        });
      }
      await this.counters.flush();
      if (this.failing) this.logger.log('presence refresh recovered');
      this.failing = false;
    } catch (error) {
      // What this sweep did not write is rewritten by the next one.
      this.rewriteAll ||= everything;
      if (!this.failing) this.logger.error(`presence refresh failed (Redis down?): ${(error as Error).message}`);
      this.failing = true;
    } finally {
      this.sweeping = false;
    }
  }
}
