import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { AuthService } from '#libs/auth';
import { traceContextFromHeaders } from '#libs/protocol';
import type { Caller } from '#libs/routing';
import { CredentialExtractor, bearerToken } from '../auth/credential-extractor.js';

/**
 * The passport strategy of the agent HTTP API: the same verifiers as the socket handshake, through
 * {@link AuthService}. With `none`, the caller names itself in `X-Agent-Id` (or, on
 * `POST /gateway/send`, `from_agent_id`); with a credential, a claimed id must match it.
 */
@Injectable()
export class AgentStrategy extends PassportStrategy(Strategy, 'agent') {
  constructor(
    private readonly auth: AuthService,
    private readonly extractor: CredentialExtractor,
  ) {
    super();
  }

  async validate(request: Request): Promise<Caller> {
    const body: unknown = request.body;
    const from = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).from_agent_id : undefined;
    const header = request.headers['x-agent-id'];
    const claimed = typeof from === 'string' ? from : typeof header === 'string' ? header : undefined;
    const credentials = this.extractor.fromRequest(request, 'http', bearerToken(request.headers.authorization), claimed);
    const principal = await this.auth.authenticate(credentials);
    const trace = traceContextFromHeaders(request.headers);
    return {
      ...(trace && { trace }),
      principal,
      tenantId: principal.tenantId,
      agentId: principal.agentId,
      session: null,
      remoteAddress: credentials.remoteAddress,
      transport: 'http',
    };
  }
}
