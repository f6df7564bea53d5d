import { Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import {
  GatewayError,
  describeSchemaError,
  httpSendBodySchema,
  isAgentId,
  type AgentDetailResponse,
  type DirectoryResponse,
  type ManifestResponse,
  type SendAck,
  type StatusResponse,
} from '#libs/protocol';
import { AgentCommandDispatcher, DirectoryService, type Caller } from '#libs/routing';
import { AgentAuthGuard, CurrentCaller } from './agent-auth.guard.js';

/** What this build of the agent plane offers, for the manifest. */
export const AGENT_PLANE_FEATURES = [
  'direct-messages',
  'request-result',
  'result-timeouts',
  'heartbeats',
  'directory',
  'agent-cards',
  'topics',
  'refresh',
  'policy',
  'rate-limits',
  'a2a',
  'mcp',
];
export const AGENT_PLANE_TRANSPORTS: ManifestResponse['transports'] = ['socket.io', 'websocket', 'http'];

/** The seed's agent HTTP API (contract §5), scoped to the caller's tenant. */
@Controller('gateway')
export class AgentHttpController {
  constructor(
    private readonly directory: DirectoryService,
    private readonly dispatcher: AgentCommandDispatcher,
  ) {}

  @Get('manifest')
  manifest(): Promise<ManifestResponse> {
    return this.directory.manifest(AGENT_PLANE_FEATURES, AGENT_PLANE_TRANSPORTS);
  }

  @Get('agents')
  @UseGuards(AgentAuthGuard)
  list(@CurrentCaller() caller: Caller): Promise<DirectoryResponse> {
    return this.directory.list(caller.tenantId);
  }

  @Get('agents/:agentId')
  @UseGuards(AgentAuthGuard)
  get(@CurrentCaller() caller: Caller, @Param('agentId') agentId: string): Promise<AgentDetailResponse> {
    if (!isAgentId(agentId)) throw new GatewayError('INVALID_MESSAGE', 'agent_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
    return this.directory.get(caller, agentId);
  }

  @Post('send')
  @HttpCode(200)
  @UseGuards(AgentAuthGuard)
  async send(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Req() request: Request,
  ): Promise<Omit<SendAck, 'conversation_id'> & Partial<SendAck>> {
    const parsed = httpSendBodySchema.safeParse(body);
    if (!parsed.success) throw new GatewayError('INVALID_MESSAGE', `send: ${describeSchemaError(parsed.error)}`);
    const { from_agent_id: _from, ...payload } = parsed.data;
    const bytes = Number(request.headers['content-length'] ?? 0);
    return (await this.dispatcher.dispatch(caller, 'send', payload, bytes)) as SendAck;
  }

  @Get('status')
  @UseGuards(AgentAuthGuard)
  status(@CurrentCaller() caller: Caller): Promise<StatusResponse> {
    return this.directory.status(caller.tenantId);
  }
}
