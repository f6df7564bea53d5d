import type { MessageEvent, ResultEvent } from '#libs/protocol';

/**
 * The seam for agents that live outside the gateway (remote A2A agents, issue 13): registered by
 * an admin, never connected, reached by the gateway itself. Routing resolves, authorizes and audits
 * a send to one like any other; only the delivery differs. Provided under {@link REMOTE_AGENTS} by
 * the module given to `RoutingModule.forRoot` (libs/a2a's outbound module); without one, no agent
 * is remote.
 */
export interface RemoteAgents {
  /** The enabled remote agent `agentId`, or null. */
  find(agentId: string): Promise<RemoteAgent | null>;
  /** A tenant's enabled remote agents (for the directory). */
  list(tenantId: string): Promise<RemoteAgent[]>;
  /**
   * Hands `message` to the remote agent; resolves once the remote accepted it (or throws a
   * `GatewayError`). With `message.expect_result`, the remote's reply is later passed once to
   * `reply`, before `message.result_deadline` (the sender's TIMEOUT result is routing's, as for any
   * agent); `reply` resolves false when nobody took it (the wait had ended).
   */
  deliver(message: MessageEvent, target: RemoteAgent, reply: (result: ResultEvent) => Promise<boolean>): Promise<void>;
}

/** A registered remote agent, as routing and the directory see it. */
export interface RemoteAgent {
  tenantId: string;
  agentId: string;
  agentName: string;
  capabilities: readonly string[];
  description: string | null;
  metadata: Record<string, unknown>;
}

/** The injection token of {@link RemoteAgents}. */
export const REMOTE_AGENTS = Symbol('REMOTE_AGENTS');
