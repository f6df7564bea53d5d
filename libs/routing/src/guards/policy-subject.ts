import type { PolicySubject } from '#libs/policy';
import type { Caller } from '../session.js';

/** The caller as the policy sees it: its tenant, id and effective capabilities. */
export function subjectOf(caller: Caller): PolicySubject {
  return {
    tenantId: caller.tenantId,
    agentId: caller.agentId,
    capabilities: caller.session?.card.capabilities ?? caller.principal.profile?.capabilities ?? [],
  };
}
