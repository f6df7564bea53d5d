import { Controller, Delete, Get, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Request, Response } from 'express';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import type { Caller } from '#libs/routing';
import { CurrentCaller } from '../http/agent-auth.guard.js';
import { CallAgentTool } from './call-agent-tool.js';
import { rebindingRefusal } from './dns-rebinding.js';
import { McpAuthGuard, McpHostGuard } from './mcp.guards.js';
import type { mcpServerFor } from './mcp.server.js';
import { McpToolDirectory } from './mcp-tool.directory.js';
import { PROTECTED_RESOURCE_METADATA_PATH, mcpResourceUrl, protectedResourceMetadata } from './protected-resource.js';

/**
 * The MCP SDK's server side (its server, its Streamable HTTP transport and the protocol's schemas),
 * loaded with the first MCP request: a node that never serves one does not hold it (about 8 MB of
 * RSS, docs/performance.md). A failed load is tried again by the next request.
 */
let runtime: Promise<{ mcpServerFor: typeof mcpServerFor; Transport: typeof StreamableHTTPServerTransport }> | null = null;

function mcpRuntime(): NonNullable<typeof runtime> {
  runtime ??= Promise.all([import('./mcp.server.js'), import('@modelcontextprotocol/sdk/server/streamableHttp.js')]).then(
    ([server, http]) => ({ mcpServerFor: server.mcpServerFor, Transport: http.StreamableHTTPServerTransport }),
    (error: unknown) => {
      runtime = null;
      throw error;
    },
  );
  return runtime;
}

/**
 * `/mcp` (contract §10): the MCP Streamable HTTP transport of the SDK, stateless and answering
 * JSON (no session, no server-sent stream: any node answers any request, and nothing is pushed to
 * a client between its requests). The request passes the DNS-rebinding check and the agent
 * authentication before the MCP layer sees it; then one SDK server handles it for that caller.
 */
@Controller()
export class McpController {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly tools: McpToolDirectory,
    private readonly call: CallAgentTool,
  ) {}

  @Post('mcp')
  @UseGuards(McpHostGuard, McpAuthGuard)
  async post(@CurrentCaller() caller: Caller, @Req() request: Request, @Res() response: Response): Promise<void> {
    const { mcpServerFor, Transport } = await mcpRuntime();
    const server = mcpServerFor(caller, {
      tools: this.tools,
      call: this.call,
      version: this.config.version,
      name: this.config.manifest.name,
    });
    const transport = new Transport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // Also when the client goes away first: closing aborts the handlers' signals (a tool call gives up its wait).
    response.once('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(request, response, request.body);
  }

  /** No server-sent stream without a session: 405, which the Streamable HTTP transport allows and clients expect. */
  @Get('mcp')
  @UseGuards(McpHostGuard, McpAuthGuard)
  stream(@Res() response: Response): void {
    methodNotAllowed(response);
  }

  /** No session to end. */
  @Delete('mcp')
  @UseGuards(McpHostGuard, McpAuthGuard)
  end(@Res() response: Response): void {
    methodNotAllowed(response);
  }

  /**
   * RFC 9728 protected resource metadata, with `oidc` on: names `OIDC_ISSUER` as the authorization
   * server, so an MCP client that does OAuth finds the IdP. Public, and readable from any origin
   * (it says nothing secret); the `Host` check still applies, since the resource URL may come from it.
   */
  @Get(PROTECTED_RESOURCE_METADATA_PATH.slice(1))
  metadata(@Req() request: Request, @Res({ passthrough: true }) response: Response): OAuthProtectedResourceMetadata {
    if (!this.config.oidc)
      throw new GatewayError('NOT_FOUND', 'no such route: the gateway publishes this metadata with the oidc method on');
    const refusal = rebindingRefusal(request.headers.host, undefined, this.config.mcp);
    if (refusal) throw refusal;
    const resource = mcpResourceUrl(this.config, request);
    if (!resource) throw new GatewayError('INVALID_MESSAGE', 'the Host header is not a usable host name (set MCP_PUBLIC_URL)');
    response.setHeader('Access-Control-Allow-Origin', '*');
    return protectedResourceMetadata(this.config, resource, this.config.oidc.issuer);
  }
}

function methodNotAllowed(response: Response): void {
  response
    .status(405)
    .setHeader('Allow', 'POST')
    .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this endpoint is stateless (POST only)' }, id: null });
}
