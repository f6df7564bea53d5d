import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { ReadinessState } from '#libs/observability';
import { ClusterMembership } from '../cluster-membership.js';
import { MessageCounterRepository } from '../message-counter.repository.js';
import { RoutingService } from '../routing.service.js';
import { SessionRegistry } from '../session.registry.js';
import { TopicService } from '../topic.service.js';
import { SessionLifecycle } from './session-lifecycle.js';

/**
 * The drain on SIGTERM (contract §1): refuse new sessions and mark the node not ready, let
 * in-flight deliveries finish (up to `SHUTDOWN_GRACE_MS`), then close every session with
 * `server_shutdown`, flush the counters and leave the cluster.
 */
@Injectable()
export class SessionDrain {
  private readonly logger = new Logger('Sessions');

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly readiness: ReadinessState,
    private readonly routing: RoutingService,
    private readonly registry: SessionRegistry,
    private readonly lifecycle: SessionLifecycle,
    private readonly counters: MessageCounterRepository,
    private readonly membership: ClusterMembership,
    private readonly topics: TopicService,
  ) {}

  async drain(): Promise<void> {
    this.readiness.draining = true;
    const deadline = Date.now() + this.config.shutdown.graceMs;
    while (this.routing.inflightCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const sessions = [...this.registry.all()];
    for (const session of sessions) this.lifecycle.close(session, 'server_shutdown', 'the gateway node is shutting down; reconnect');
    await Promise.allSettled([this.counters.flush(), this.membership.leave(), this.topics.drain()]);
    this.logger.log(`drained: ${sessions.length} session(s) closed`);
  }
}
