import type { ResultEvent } from '#libs/protocol';

interface Waiter {
  resolve: (result: ResultEvent) => void;
  timer: NodeJS.Timeout;
}

/**
 * The results callers without a session await on this node (an A2A task, an MCP tool call): one
 * promise per agent and conversation, settled by the recipient's `result`, by a TIMEOUT result when
 * its time is up, or by whoever gives up on it (a cancel). Kept per agent, so the per-agent bound
 * on awaited results counts them without a scan.
 */
export class ResultWaiters {
  private readonly byAgent = new Map<string, Map<string, Waiter>>();

  /** Awaits the result of `conversationId` for `agentId`; after `timeoutMs` it is `onTimeout()`. */
  add(agentId: string, conversationId: string, timeoutMs: number, onTimeout: () => ResultEvent): Promise<ResultEvent> {
    let mine = this.byAgent.get(agentId);
    if (!mine) this.byAgent.set(agentId, (mine = new Map<string, Waiter>()));
    const previous = mine.get(conversationId);
    if (previous) clearTimeout(previous.timer);
    return new Promise<ResultEvent>((resolve) => {
      const timer = setTimeout(() => this.settle(agentId, conversationId, onTimeout()), timeoutMs);
      timer.unref();
      mine.set(conversationId, { resolve, timer });
    });
  }

  has(agentId: string, conversationId: string): boolean {
    return this.byAgent.get(agentId)?.has(conversationId) ?? false;
  }

  /** Results `agentId` awaits here. */
  count(agentId: string): number {
    return this.byAgent.get(agentId)?.size ?? 0;
  }

  /** Forgets a waiter whose send was refused (its promise is never awaited). */
  forget(agentId: string, conversationId: string): void {
    const mine = this.byAgent.get(agentId);
    const waiter = mine?.get(conversationId);
    if (!mine || !waiter) return;
    clearTimeout(waiter.timer);
    mine.delete(conversationId);
    if (mine.size === 0) this.byAgent.delete(agentId);
  }

  /** Settles the waiter with `result`; false when nobody awaits it (any more). */
  settle(agentId: string, conversationId: string, result: ResultEvent): boolean {
    const mine = this.byAgent.get(agentId);
    const waiter = mine?.get(conversationId);
    if (!mine || !waiter) return false;
    clearTimeout(waiter.timer);
    mine.delete(conversationId);
    if (mine.size === 0) this.byAgent.delete(agentId);
    waiter.resolve(result);
    return true;
  }
}
