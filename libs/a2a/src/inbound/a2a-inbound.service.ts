import { JsonRpcTransportHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { isLegacyJsonRpcMethod } from '@a2a-js/sdk/compat/v0_3';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError, exceedsJsonDepth, type ErrorCode } from '#libs/protocol';
import { AgentCommandDispatcher, DirectoryService, RoutingService, type Caller } from '#libs/routing';
import { A2AAgentHandler, type A2AHandlerDeps } from './a2a-agent.handler.js';
import { agentCard, agentCardJson } from './a2a-card.js';
import { A2ATaskEvents } from './a2a-task-events.js';
import { A2ATaskRepository } from './a2a-task.repository.js';

/** A JSON-RPC answer: one response, or a stream of them (SSE). */
export type A2AReply = { kind: 'json'; body: unknown } | { kind: 'stream'; events: AsyncGenerator<unknown, void, undefined> };

interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** JSON-RPC codes of the gateway's refusals; `data.code` carries the gateway's own. */
const RPC_CODES: Partial<Record<ErrorCode, number>> = {
  INVALID_MESSAGE: -32602,
  PAYLOAD_TOO_LARGE: -32602,
  UNAVAILABLE: -32603,
};
const RPC_GATEWAY_REFUSAL = -32000;

function gatewayRpcError(error: GatewayError): JsonRpcError {
  return { code: RPC_CODES[error.code] ?? RPC_GATEWAY_REFUSAL, message: error.message, data: error.toBody() };
}

/**
 * The A2A server of every agent (contract §9, inbound): its card, and JSON-RPC 1.0 and 0.3 through
 * the SDK's transport handlers over an {@link A2AAgentHandler} per request. The SDK's
 * `DefaultRequestHandler` is not used: it runs an executor in-process with an in-memory event bus
 * per task, while here a task is a conversation with an agent on any node, ended by that agent's
 * `result` (see docs/a2a.md).
 */
@Injectable()
export class A2AInboundService {
  private readonly deps: A2AHandlerDeps;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    dispatcher: AgentCommandDispatcher,
    routing: RoutingService,
    tasks: A2ATaskRepository,
    events: A2ATaskEvents,
    audit: AuditTrail,
    private readonly directory: DirectoryService,
  ) {
    this.deps = { config, dispatcher, routing, tasks, events, audit, nodeId: config.nodeId };
  }

  /** The card of a connected agent the caller may see (AGENT_NOT_FOUND otherwise, as in §5). */
  async card(caller: Caller, agentId: string, origin: string): Promise<unknown> {
    const agent = await this.directory.get(caller, agentId);
    return agentCardJson(agent, this.baseUrl(origin), this.config.auth.methods, this.config.version);
  }

  /** One JSON-RPC request of `caller` to the A2A server of `agentId`. */
  async handle(caller: Caller, agentId: string, origin: string, body: unknown, frameBytes: number): Promise<A2AReply> {
    const method = typeof (body as { method?: unknown } | null)?.method === 'string' ? (body as { method: string }).method : '';
    const id = (body as { id?: unknown } | null)?.id;
    const requestId = typeof id === 'string' || typeof id === 'number' ? id : null;
    if (exceedsJsonDepth(body, this.config.limits.jsonDepth)) {
      const error = new GatewayError('INVALID_MESSAGE', `nested deeper than ${this.config.limits.jsonDepth} levels (MAX_JSON_DEPTH)`);
      return { kind: 'json', body: { jsonrpc: '2.0', id: requestId, error: gatewayRpcError(error) } };
    }
    const legacy = isLegacyJsonRpcMethod(method);
    caller.protocol = { name: 'a2a', details: { 'a2a.method': method.slice(0, 64) } };
    // The card only answers the SDK's capability checks here: streaming is on for every agent.
    const card = agentCard(
      { agent_id: agentId, agent_name: agentId, description: null, capabilities: [] },
      this.baseUrl(origin),
      this.config.auth.methods,
      this.config.version,
    );
    const handler = new A2AAgentHandler(this.deps, caller, agentId, card, frameBytes);
    const context = new ServerCallContext({
      user: { isAuthenticated: true, userName: caller.agentId },
      requestedVersion: legacy ? '0.3' : '1.0',
    });
    const mapError = (error: unknown): JsonRpcError =>
      error instanceof GatewayError
        ? gatewayRpcError(error)
        : legacy
          ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
          : JsonRpcTransportHandler.mapToJSONRPCError(error);
    const transport = legacy ? new LegacyJsonRpcTransportHandler(handler) : new JsonRpcTransportHandler(handler);
    const answer = await transport.handle(body as Record<string, unknown>, context);
    if (!isAsyncIterable(answer)) {
      const response = answer as { error?: JsonRpcError };
      if (response.error && handler.refusal) response.error = gatewayRpcError(handler.refusal);
      return { kind: 'json', body: response };
    }
    // The first event decides between a stream and an error answer (the refusals come before it).
    const iterator = answer[Symbol.asyncIterator]();
    let first: IteratorResult<unknown>;
    try {
      first = await iterator.next();
    } catch (error) {
      return { kind: 'json', body: { jsonrpc: '2.0', id: requestId, error: mapError(handler.refusal ?? error) } };
    }
    async function* events(): AsyncGenerator<unknown, void, undefined> {
      try {
        if (!first.done) yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } catch (error) {
        yield { jsonrpc: '2.0', id: requestId, error: mapError(error) };
      } finally {
        await iterator.return?.(undefined);
      }
    }
    return { kind: 'stream', events: events() };
  }

  private baseUrl(origin: string): string {
    return this.config.a2a.publicUrl ?? origin;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}
