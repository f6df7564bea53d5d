import type { PresenceEntry } from '../presence.repository.js';
import { Session, type AdmittedSession } from '../session.js';

/** What the directory holds for a session (admitted or live) on node `nodeId`. */
export function presenceEntryOf(session: AdmittedSession | Session, transport: PresenceEntry['transport'], nodeId: string): PresenceEntry {
  const isLive = session instanceof Session;
  return {
    session_id: session.id,
    agent_id: session.principal.agentId,
    tenant_id: session.principal.tenantId,
    node_id: nodeId,
    transport,
    card: session.card,
    remote_addr: session.remoteAddress,
    connected_at: session.connectedAt.toISOString(),
    last_heartbeat: (isLive ? session.lastHeartbeatAt : session.connectedAt).toISOString(),
    expires_at: (isLive ? session.expiresAt : session.principal.expiresAt)?.toISOString() ?? null,
  };
}
