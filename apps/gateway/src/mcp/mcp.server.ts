import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { GatewayError } from '#libs/protocol';
import type { Caller } from '#libs/routing';
import type { CallAgentTool } from './call-agent-tool.js';
import type { McpToolDirectory } from './mcp-tool.directory.js';

/** What one MCP server instance answers with. */
export interface McpHandlers {
  tools: McpToolDirectory;
  call: CallAgentTool;
  version: string;
  /** Names the server to clients (`GATEWAY_NAME`). */
  name: string;
}

/**
 * One JSON Schema validator for every server. The SDK builds a new Ajv for each server by default,
 * which was the largest single cost of a request; it is only used for elicitation, which these
 * servers never request.
 */
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * The JSON-RPC error of a refused `tools/list` (a bad cursor, the directory down), with the
 * gateway's `{ code, message, request_id }` as `data`.
 */
export function mcpErrorOf(error: GatewayError): McpError {
  const code = error.code === 'INVALID_MESSAGE' ? ErrorCode.InvalidParams : ErrorCode.InternalError;
  return new McpError(code, `${error.code}: ${error.message}`, error.toBody());
}

/**
 * The MCP server of one request, for one authenticated caller: `tools/list` and `tools/call`
 * only, handed to the use cases. The SDK's low-level `Server` rather than `McpServer`, whose tools
 * are registered ahead of time: here they are the agents connected right now, different for
 * every caller. A stateless transport needs a server per request (the SDK refuses to reuse one);
 * building one is cheap once the schema validator is shared.
 */
export function mcpServerFor(caller: Caller, handlers: McpHandlers): Server {
  const server = new Server(
    { name: handlers.name, version: handlers.version },
    {
      capabilities: { tools: { listChanged: false } },
      jsonSchemaValidator: SCHEMA_VALIDATOR,
      instructions: 'Each tool is an AI agent connected to this gateway; call it with text, data (any JSON) or both.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    try {
      return await handlers.tools.page(caller, request.params?.cursor);
    } catch (error) {
      // The SDK would send any error's own message: only a contract error's leaves (page throws no other).
      throw error instanceof GatewayError ? mcpErrorOf(error) : new McpError(ErrorCode.InternalError, 'internal error');
    }
  });
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    handlers.call.execute(caller, request.params.name, request.params.arguments, {
      frameBytes: Number(extra.requestInfo?.headers['content-length'] ?? 0) || 0,
      signal: extra.signal,
    }),
  );
  return server;
}
