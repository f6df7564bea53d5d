/**
 * The TypeScript SDK for agents. Usable from plain Node:
 * `import { GatewayClient } from 'agent-gateway/client'` once built, or `#libs/client` inside this repository.
 */
export { GatewayClient } from './gateway-client.js';
export type {
  ClientState,
  GatewayClientEvents,
  GatewayClientOptions,
  MessageHandler,
  RequestOptions,
  SendOptions,
} from './gateway-client.js';
export { activeTraceContext } from './trace-propagation.js';
export { fullJitterDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { GatewayError, isTerminalDisconnect } from '#libs/protocol';
export type { ContentPart, MessageEvent, ResultEvent, SendAck, SessionEvent, TraceContext } from '#libs/protocol';
