import { Body, Controller, Get, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { A2AInboundService } from '#libs/a2a';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError, isAgentId } from '#libs/protocol';
import type { Caller } from '#libs/routing';
import { AgentAuthGuard, CurrentCaller } from '../http/agent-auth.guard.js';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

function agentIdOf(agentId: string): string {
  if (!isAgentId(agentId)) throw new GatewayError('INVALID_MESSAGE', 'agent_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
  return agentId;
}

/** The origin a card names when `A2A_PUBLIC_URL` is unset: the one the client used. */
function originOf(request: Request): string {
  return `${request.protocol}://${request.get('host') ?? 'localhost'}`;
}

/**
 * A2A on the agent listener (contract §9): the card and the JSON-RPC endpoint of every agent. The
 * caller authenticates like any agent (bearer token, OIDC, mTLS); answers stream as SSE with
 * keep-alive comments.
 */
@Controller('a2a')
@UseGuards(AgentAuthGuard)
export class A2AController {
  constructor(
    private readonly a2a: A2AInboundService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get(':agentId/.well-known/agent-card.json')
  card(@CurrentCaller() caller: Caller, @Param('agentId') agentId: string, @Req() request: Request): Promise<unknown> {
    return this.a2a.card(caller, agentIdOf(agentId), originOf(request));
  }

  @Post(':agentId')
  async rpc(
    @CurrentCaller() caller: Caller,
    @Param('agentId') agentId: string,
    @Body() body: unknown,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const bytes = Number(request.headers['content-length'] ?? 0);
    const reply = await this.a2a.handle(caller, agentIdOf(agentId), originOf(request), body, bytes);
    if (reply.kind === 'json') {
      response.status(200).json(reply.body);
      return;
    }
    response.writeHead(200, SSE_HEADERS);
    response.flushHeaders();
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), this.config.a2a.streamKeepAliveS * 1000);
    const events = reply.events;
    // A client that goes away ends the stream (the task itself goes on: GetTask finds it).
    response.once('close', () => void events.return(undefined));
    try {
      for await (const event of events) {
        const line = `${'error' in (event as object) ? 'event: error\n' : ''}data: ${JSON.stringify(event)}\n\n`;
        if (!response.write(line)) await new Promise((resolve) => response.once('drain', resolve));
      }
    } finally {
      clearInterval(keepAlive);
      response.end();
    }
  }
}
