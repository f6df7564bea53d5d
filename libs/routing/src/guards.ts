import type { ClientEventName, ClientPayloads } from '#libs/protocol';
import type { ResolvedAgent } from './routing.service.js';
import type { Caller } from './session.js';

/** A client event that passed size and schema checks, about to be authorized and routed. */
export interface MessageContext<E extends ClientEventName = ClientEventName> {
  caller: Caller;
  event: E;
  payload: ClientPayloads[E];
  frameBytes: number;
  /** For `send`: the recipient, resolved and authorized by the authorization guard. */
  target?: ResolvedAgent;
  /** Set by a guard that wrote the audit record of its refusal (the dispatcher then writes none). */
  audited?: boolean;
}

/**
 * A check every client event passes after size and schema, before it is routed (authorization
 * policy, rate limits). Refuses by throwing a `GatewayError`.
 */
export interface MessageGuard {
  /** The name of its span when traced (`agw.authorize`, `agw.rate_limit`). */
  readonly spanName: string;
  check(context: MessageContext): void | Promise<void>;
  /**
   * Also run when an earlier guard refused the event (the rate limit: refused events still count,
   * so a flood of them is limited too). Its own refusal then replaces the earlier one.
   */
  readonly alsoOnRefusal?: boolean;
  /**
   * Runs for a frame refused before the guards (malformed, unknown event, too large): the rate
   * limit counts it too, so a flood of garbage is limited like any other. A refusal here replaces
   * the frame's own.
   */
  checkRefused?(caller: Caller, event: string): void | Promise<void>;
}

/** Injection token of the message guards, in pipeline order. */
export const MESSAGE_GUARDS = Symbol('MESSAGE_GUARDS');
