import type { Agent } from '#libs/persistence';
import type { AgentProfile } from './principal.js';

/** The profile a principal carries for a registered agent. */
export function profileOf(agent: Agent): AgentProfile {
  return {
    agentName: agent.name,
    capabilities: agent.capabilities,
    description: agent.description,
    metadata: (agent.metadata ?? {}) as Record<string, unknown>,
  };
}
