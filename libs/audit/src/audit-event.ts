/** The audit actions of contract §8 (and the few the gateway adds). */
export const AUDIT_ACTIONS = [
  'agent.connect',
  'agent.connect_denied',
  'agent.disconnect',
  'message.routed',
  'message.denied',
  'message.rate_limited',
  'message.canceled',
  'topic.publish',
  'topic.subscribe',
  'credential.created',
  'credential.revoked',
  'session.kicked',
  'policy.updated',
  'rate_limit.updated',
  'agent.created',
  'agent.updated',
  'agent.deleted',
  'tenant.created',
  'admin.login',
  'admin.logout',
  'admin.break_glass',
  'admin.denied',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it. */
export interface AuditActor {
  type: 'agent' | 'admin' | 'system';
  id: string;
}

/**
 * One audit event as a plane reports it (contract §8). The trail adds the id, the timestamp when
 * absent, the node, the per-tenant sequence and the hash chain.
 */
export interface AuditEvent {
  action: AuditAction;
  tenant_id: string | null;
  actor: AuditActor;
  subject: string | null;
  outcome: 'allowed' | 'denied' | 'error';
  /** An error code of the contract, or a short reason (`no_allow_rule`, `cross_tenant_without_consent`). */
  reason: string | null;
  session_id: string | null;
  remote_addr: string | null;
  /** Sizes, ids… never a secret, never message content. */
  details: Record<string, unknown>;
  /** Message content, if the event carries one: the record keeps its SHA-256 (`details.content_sha256`), and the content itself (`details.content`) only when AUDIT_PAYLOADS=true. */
  content?: unknown;
  timestamp?: string;
}
