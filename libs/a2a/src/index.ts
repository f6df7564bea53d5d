/** A2A (contract §9): every agent reachable by the Agent2Agent protocol. */
import { A2AInboundService } from './inbound/a2a-inbound.service.js';
import { A2ATaskEvents } from './inbound/a2a-task-events.js';
import { A2ATaskRepository } from './inbound/a2a-task.repository.js';

export { A2AInboundService };
export type { A2AReply } from './inbound/a2a-inbound.service.js';

/**
 * The providers of A2A on the agent plane. They inject the routing core's exports (dispatcher,
 * routing, directory), so the agent plane module, which imports the routing module, provides them.
 */
export const A2A_PROVIDERS = [A2AInboundService, A2ATaskRepository, A2ATaskEvents];
