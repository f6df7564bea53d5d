import { CallAgentTool } from './call-agent-tool.js';
import { McpAuthGuard, McpHostGuard } from './mcp.guards.js';
import { McpToolDirectory } from './mcp-tool.directory.js';

/** The MCP endpoint's controller, mounted on the agent plane beside the agent HTTP API (it shares its authentication). */
export { McpController } from './mcp.controller.js';

/** The providers of the MCP endpoint, for the agent plane module. */
export const MCP_PROVIDERS = [McpToolDirectory, CallAgentTool, McpHostGuard, McpAuthGuard];
