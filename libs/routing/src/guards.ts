import type { ClientEventName, ClientPayloads } from '#libs/protocol';
import type { Caller } from './session.js';

/** A client event that passed size and schema checks, about to be authorized and routed. */
export interface MessageContext<E extends ClientEventName = ClientEventName> {
  caller: Caller;
  event: E;
  payload: ClientPayloads[E];
  frameBytes: number;
}

/**
 * A check every client event passes after size and schema, before it is routed (authorization
 * policy, rate limits). Refuses by throwing a `GatewayError`.
 */
export interface MessageGuard {
  check(context: MessageContext): void | Promise<void>;
}

/** Injection token of the message guards, in pipeline order. */
export const MESSAGE_GUARDS = Symbol('MESSAGE_GUARDS');
