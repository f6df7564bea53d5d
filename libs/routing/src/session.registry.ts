import { Injectable } from '@nestjs/common';
import type { Session } from './session.js';

/** The sessions live on this node, by session id and by agent id. Process-local by design. */
@Injectable()
export class SessionRegistry {
  private readonly bySession = new Map<string, Session>();
  private readonly byAgent = new Map<string, Session>();

  add(session: Session): Session | undefined {
    const previous = this.byAgent.get(session.agentId);
    this.bySession.set(session.id, session);
    this.byAgent.set(session.agentId, session);
    return previous;
  }

  /** Removes the session; the agent index keeps a newer session of the same agent. */
  remove(session: Session): void {
    this.bySession.delete(session.id);
    if (this.byAgent.get(session.agentId) === session) this.byAgent.delete(session.agentId);
  }

  get(sessionId: string): Session | undefined {
    return this.bySession.get(sessionId);
  }

  forAgent(agentId: string): Session | undefined {
    return this.byAgent.get(agentId);
  }

  all(): IterableIterator<Session> {
    return this.bySession.values();
  }

  get size(): number {
    return this.bySession.size;
  }
}
