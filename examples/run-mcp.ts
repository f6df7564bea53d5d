/**
 * The MCP example, against a gateway that is already started (`npm start`): provisions (operator
 * CLI, when the gateway uses `token` authentication) the demo responder and an MCP caller agent,
 * starts the responder (a socket.io agent, examples/responder.ts), then uses the MCP SDK's own
 * client, as any MCP host (an IDE, an agent framework) would: it lists the gateway's agents as
 * tools and calls the responder through `/mcp`.
 *
 *   npm run example:mcp        # GATEWAY_URL defaults to http://localhost:8700
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GATEWAY_URL, provisionDemoAgent } from './provision.js';

const [responderToken, callerToken] = await Promise.all([provisionDemoAgent('demo-responder'), provisionDemoAgent('demo-mcp-client')]);
const responder = spawn(process.execPath, [fileURLToPath(new URL('./responder.js', import.meta.url))], {
  stdio: 'inherit',
  env: { ...process.env, GATEWAY_URL, AGENT_ID: 'demo-responder', ...(responderToken && { AGENT_TOKEN: responderToken }) },
});

/** Lists the tools and calls the responder, as any MCP host would; true when the call succeeded. */
async function callThroughMcp(): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  // The caller authenticates as an agent: its API token (or, with `none`, the id it claims).
  const headers: Record<string, string> = callerToken ? { authorization: `Bearer ${callerToken}` } : { 'x-agent-id': 'demo-mcp-client' };
  const client = new Client({ name: 'agent-gateway-example', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', GATEWAY_URL), { requestInit: { headers } }));
  const { tools } = await client.listTools();
  for (const tool of tools) {
    console.log(`[mcp] tool ${tool.name}: ${tool.title ?? ''}${tool.description ? ` (${tool.description.replace(/\n+/g, ' ')})` : ''}`);
  }
  const result = (await client.callTool({ name: 'demo-responder', arguments: { text: 'hello over MCP' } })) as CallToolResult;
  const text = result.content.map((item) => (item.type === 'text' ? item.text : `[${item.type}]`)).join(' ');
  console.log(`[mcp] demo-responder answered${result.isError ? ' with an error' : ''}: ${text}`);
  await client.close();
  return result.isError !== true;
}

const ok = await callThroughMcp().finally(() => responder.kill('SIGTERM'));
process.exit(ok ? 0 : 1);
