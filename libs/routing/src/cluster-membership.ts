import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { NodeRepository, type NodeEntry } from './node.repository.js';
import { PresenceRepository } from './presence.repository.js';

// A process that does not route (apps/admin) re-reads the live nodes at most this often.
const READ_INTERVAL_MS = 1_000;

/**
 * Which gateway nodes are alive. A routing node {@link join}s: it refreshes its entry every third
 * of `NODE_TIMEOUT_S`, re-reads the live set, and reaps nodes that died (their entry expired
 * without a clean stop): their agents leave the directory at once instead of when each presence
 * entry expires. Readers ask {@link isLive}: the cached live set answers, and a node it does not
 * name (one that just started) is checked in Redis before it is called dead.
 */
@Injectable()
export class ClusterMembership implements OnApplicationShutdown {
  private readonly logger = new Logger('ClusterMembership');
  private readonly timeoutMs: number;
  private live = new Map<string, NodeEntry>();
  private readAt = 0;
  private reading: Promise<void> | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private failing = false;
  private self: NodeEntry | null = null;
  private joined = false;
  private readonly rejoinListeners: (() => void)[] = [];

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly nodes: NodeRepository,
    private readonly presence: PresenceRepository,
  ) {
    this.timeoutMs = config.routing.nodeTimeoutS * 1000;
  }

  /** Announces this node and keeps it announced until {@link leave}. */
  async join(entry: NodeEntry): Promise<void> {
    this.self = entry;
    await this.tick();
    this.ticker = setInterval(() => void this.tick(), Math.max(500, Math.floor(this.timeoutMs / 3)));
    this.ticker.unref();
  }

  /**
   * Called when this node's refresh works again after failing for a while: other nodes may have
   * reaped it meanwhile, so its sessions' presence should be written again now.
   */
  onRejoin(listener: () => void): void {
    this.rejoinListeners.push(listener);
  }

  /** Stops announcing this node and removes its entry (a clean stop: nothing to reap). */
  async leave(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.self = null;
    this.joined = false;
    await this.nodes.remove(this.config.nodeId);
  }

  onApplicationShutdown(): void {
    if (this.ticker) clearInterval(this.ticker);
  }

  /** Whether `nodeId` is alive: this node, a node of the cached live set, or one Redis still has. */
  async isLive(nodeId: string): Promise<boolean> {
    if (nodeId === this.config.nodeId && this.self) return true;
    await this.fresh();
    if (this.live.has(nodeId)) return true;
    return this.nodes.isLive(nodeId);
  }

  /** The entries of `items` whose node is alive. */
  async filterLive<T extends { node_id: string }>(items: T[]): Promise<T[]> {
    const verdicts = new Map<string, boolean>();
    for (const item of items) if (!verdicts.has(item.node_id)) verdicts.set(item.node_id, await this.isLive(item.node_id));
    return items.filter((item) => verdicts.get(item.node_id));
  }

  /** The live nodes' entries (for the manifest's capacity). */
  async liveNodes(): Promise<NodeEntry[]> {
    await this.fresh();
    return [...this.live.values()];
  }

  private async fresh(): Promise<void> {
    if (this.ticker !== null || Date.now() - this.readAt < READ_INTERVAL_MS) return;
    this.reading ??= this.read().finally(() => (this.reading = null));
    await this.reading;
  }

  private async read(): Promise<void> {
    const entries = await this.nodes.live();
    this.live = new Map(entries.map((e) => [e.node_id, e]));
    this.readAt = Date.now();
  }

  private async tick(): Promise<void> {
    try {
      const joined = this.joined;
      // Our entry gone although we were in: this node froze (or lost Redis) for NODE_TIMEOUT_S
      // and may have been reaped; its sessions' presence must be written again.
      const wasThere = this.self ? await this.nodes.refresh(this.self, this.timeoutMs) : true;
      this.joined = this.self !== null;
      if (joined && !wasThere && !this.failing) {
        this.logger.warn(`this node's entry had expired (paused for over ${this.config.routing.nodeTimeoutS} s?): announcing it again`);
        for (const listener of this.rejoinListeners) listener();
      }
      await this.read();
      for (const dead of await this.nodes.dead()) {
        const removed = await this.presence.releaseNode(dead);
        await this.nodes.forget(dead);
        this.logger.warn(
          `node ${dead} stopped refreshing for ${this.config.routing.nodeTimeoutS} s: ${removed} of its agents removed from the directory`,
        );
      }
      if (this.failing) {
        this.logger.log('node registry reachable again');
        for (const listener of this.rejoinListeners) listener();
      }
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.error(`node registry refresh failed (Redis down?): ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
