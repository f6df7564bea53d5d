import type { AuditEvent } from '#libs/audit';

/** A `message.routed` event of tenant `acme` from `a1` to `a2`, as the routing path reports one; `overrides` replace fields. */
export function routedEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    action: 'message.routed',
    tenant_id: 'acme',
    actor: { type: 'agent', id: 'a1' },
    subject: 'a2',
    outcome: 'allowed',
    reason: null,
    session_id: null,
    remote_addr: null,
    details: { message_id: 'm1' },
    ...overrides,
  };
}
