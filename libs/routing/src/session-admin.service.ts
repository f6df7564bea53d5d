import { Module } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import { CURSOR_KEYS, GatewayError, cursorCodec } from '#libs/protocol';
import { ClusterSignals } from './cluster.bus.js';
import { ClusterMembership } from './cluster-membership.js';
import { NodeRepository } from './node.repository.js';
import { PresenceRepository, type PresenceEntry } from './presence.repository.js';

/** A live session as the admin API shows it. */
export interface SessionView {
  session_id: string;
  agent_id: string;
  tenant_id: string;
  node_id: string;
  transport: string;
  remote_addr: string;
  connected_at: string;
  last_heartbeat: string;
}

/** The session list is sorted by agent id (one live session per agent): the cursor is the last agent id. */
const SESSION_CURSOR = cursorCodec('sessions', CURSOR_KEYS.agentId);

/**
 * Sessions for the admin plane: every node's live sessions, read from the shared presence in Redis,
 * and a kick delivered to whichever node holds the session (a `close_session` signal to all nodes;
 * the holder closes it with `revoked`, terminal for the SDK). Works from a process that does not
 * route (apps/admin).
 */
@Injectable()
export class SessionAdminService {
  constructor(
    private readonly presence: PresenceRepository,
    private readonly signals: ClusterSignals,
    private readonly audit: AuditTrail,
    private readonly membership: ClusterMembership,
  ) {}

  /**
   * Live sessions, by agent id, after the position of `cursor` (a `next_cursor` of this list;
   * anything else is `INVALID_MESSAGE`), optionally of one tenant.
   */
  async list(
    filter: { tenantId?: string | undefined; agentId?: string | undefined },
    limit: number,
    cursor?: string,
  ): Promise<{ items: SessionView[]; next_cursor: string | null }> {
    const [after] = SESSION_CURSOR.decode(cursor) ?? [];
    const listed = filter.tenantId !== undefined ? await this.presence.listTenant(filter.tenantId) : await this.presence.listAll();
    // A dead node's sessions are gone, whether or not its entries were reaped yet.
    const entries = await this.membership.filterLive(listed);
    const matching = entries.filter(
      (e) => (filter.agentId === undefined || e.agent_id === filter.agentId) && (after === undefined || e.agent_id > after),
    );
    const items = matching.slice(0, limit).map(viewOf);
    const last = items.at(-1);
    return { items, next_cursor: matching.length > limit && last ? SESSION_CURSOR.encode(last.agent_id) : null };
  }

  /** The live session with this id, or NOT_FOUND: two reads through the session index, whatever the number of agents. */
  async find(sessionId: string): Promise<SessionView> {
    const entry = await this.presence.findSession(sessionId);
    if (!entry || !(await this.membership.isLive(entry.node_id))) throw new GatewayError('NOT_FOUND', `no live session "${sessionId}"`);
    return viewOf(entry);
  }

  /** Closes the session on its node (`revoked`) and records `session.kicked`. */
  async kick(session: SessionView, actor: AuditActor): Promise<void> {
    await this.signals.signal(null, {
      op: 'close_session',
      session_id: session.session_id,
      reason: 'revoked',
      message: 'an administrator closed this session',
    });
    this.audit.record({
      action: 'session.kicked',
      tenant_id: session.tenant_id,
      actor,
      subject: session.agent_id,
      outcome: 'allowed',
      reason: null,
      session_id: session.session_id,
      remote_addr: null,
      details: { node_id: session.node_id, agent_remote_addr: session.remote_addr },
    });
  }
}

function viewOf(entry: PresenceEntry): SessionView {
  return {
    session_id: entry.session_id,
    agent_id: entry.agent_id,
    tenant_id: entry.tenant_id,
    node_id: entry.node_id,
    transport: entry.transport,
    remote_addr: entry.remote_addr,
    connected_at: entry.connected_at,
    last_heartbeat: entry.last_heartbeat,
  };
}

/** What the admin plane needs of the routing core: presence reads and cluster signals. */
@Module({
  providers: [PresenceRepository, NodeRepository, ClusterMembership, ClusterSignals, SessionAdminService],
  exports: [SessionAdminService],
})
export class SessionAdminModule {}
