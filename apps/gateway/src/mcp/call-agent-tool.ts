import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { RefusalLog } from '#libs/observability';
import { GatewayError, type ResultEvent } from '#libs/protocol';
import { AgentCommandDispatcher, RoutingService, type Caller } from '#libs/routing';
import { contentOfArguments, toolRefusalOf, toolResultOf } from './mcp-tool.mapping.js';
import { McpToolDirectory } from './mcp-tool.directory.js';
import { mcpRefusal } from './mcp-refusal.js';

/** How an MCP `tools/call` arrived: its size on the wire, and the signal of the client going away. */
export interface ToolCallContext {
  frameBytes: number;
  signal?: AbortSignal;
}

/**
 * `tools/call` (contract §10): a `send` with `expect_result` from the caller to the tool's agent,
 * through the one dispatcher (validation, policy, rate limit, audit with `details.protocol: "mcp"`
 * and `details["mcp.tool"]`), waiting at most `MCP_TIMEOUT_MS` for the agent's result. Every
 * refusal and failure is a tool result with `isError`, never a JSON-RPC error: an LLM client shows
 * it to the model, which can act on the code. When the client goes away first, the wait is given
 * up and the agent gets a `cancel`.
 */
@Injectable()
export class CallAgentTool {
  private readonly logger = new Logger('Mcp');

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly tools: McpToolDirectory,
    private readonly dispatcher: AgentCommandDispatcher,
    private readonly routing: RoutingService,
    private readonly refusals: RefusalLog,
  ) {}

  async execute(caller: Caller, name: string, args: unknown, context: ToolCallContext): Promise<CallToolResult> {
    const tool = name.slice(0, 128);
    const mcpCaller: Caller = { ...caller, protocol: { name: 'mcp', details: { 'mcp.tool': tool } } };
    let target: string | undefined;
    try {
      const content = contentOfArguments(args);
      const card = await this.tools.find(caller, name);
      if (!card) throw new GatewayError('AGENT_NOT_FOUND', `no tool "${tool}": no such agent is connected`);
      target = card.agent_id;
      const conversationId = randomUUID();
      const { result } = await this.dispatcher.request(
        mcpCaller,
        { to_agent_id: card.agent_id, conversation_id: conversationId, content, timeout_ms: this.config.mcp.timeoutMs },
        context.frameBytes,
      );
      return toolResultOf(await this.awaitUnlessAborted(mcpCaller, card.agent_id, conversationId, result, context.signal));
    } catch (error) {
      const where = target ? `mcp tools/call ${target}` : 'mcp tools/call';
      // The dispatcher noted (and audited) its own refusals; bad arguments and unknown tools are noted here.
      return toolRefusalOf(
        mcpRefusal(error, { where, agentId: caller.agentId, remoteAddr: caller.remoteAddress }, this.refusals, this.logger),
      );
    }
  }

  /** The agent's result; when the client goes away first, the wait ends and the agent is told. */
  private async awaitUnlessAborted(
    caller: Caller,
    targetId: string,
    conversationId: string,
    result: Promise<ResultEvent>,
    signal: AbortSignal | undefined,
  ): Promise<ResultEvent> {
    if (!signal) return result;
    const abandon = (): void => {
      const gone: ResultEvent = {
        conversation_id: conversationId,
        from_agent_id: targetId,
        success: false,
        error: { code: 'TIMEOUT', message: 'the MCP client went away before the result' },
        metadata: {},
      };
      void this.routing
        .resolveAgent(targetId)
        .catch(() => null)
        .then((recipient) => this.routing.giveUp(caller.agentId, this.config.nodeId, gone, recipient, 'mcp_client_gone'))
        .catch((error: Error) => this.logger.warn(`giving up the MCP call ${conversationId} failed: ${error.message}`));
    };
    if (signal.aborted) abandon();
    else signal.addEventListener('abort', abandon, { once: true });
    try {
      return await result;
    } finally {
      signal.removeEventListener('abort', abandon);
    }
  }
}
