/** The routing core: sessions, presence, direct messages and results, independent of transports. */
export { RoutingModule } from './routing.module.js';
export { AgentCommandDispatcher } from './agent-command.dispatcher.js';
export { DirectoryService } from './directory.service.js';
export { RoutingService } from './routing.service.js';
export type { ResolvedAgent } from './routing.service.js';
export { REMOTE_AGENTS } from './remote-agents.js';
export type { RemoteAgent, RemoteAgents } from './remote-agents.js';
export { TopicService } from './topic.service.js';
export { PresenceSweep, SessionAdmission, SessionCards, SessionDrain, SessionLifecycle, SessionRefresh } from './sessions/index.js';
export { Session } from './session.js';
export type { AdmittedSession, AgentConnection, Caller } from './session.js';
export { MESSAGE_GUARDS } from './guards.js';
export type { MessageContext, MessageGuard } from './guards.js';
export { subjectOf } from './guards/policy-subject.js';
export { TtlCache } from './ttl-cache.js';
export { SessionAdminModule, SessionAdminService } from './session-admin.service.js';
export type { SessionView } from './session-admin.service.js';
