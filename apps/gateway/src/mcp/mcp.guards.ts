import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { AgentAuthGuard } from '../http/agent-auth.guard.js';
import { rebindingRefusal } from './dns-rebinding.js';
import { bearerChallenge } from './protected-resource.js';

/** DNS-rebinding protection of `/mcp` (see {@link rebindingRefusal}): before anything else looks at the request. */
@Injectable()
export class McpHostGuard implements CanActivate {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const origin = request.headers.origin;
    const refusal = rebindingRefusal(request.headers.host, typeof origin === 'string' ? origin : undefined, this.config.mcp);
    if (refusal) throw refusal;
    return true;
  }
}

/**
 * The agent authentication of `/mcp`: the same verifiers as every agent transport (token, OIDC,
 * mTLS, none), and on a 401 the `WWW-Authenticate` challenge MCP clients use to discover the IdP.
 */
@Injectable()
export class McpAuthGuard extends AgentAuthGuard {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return (await super.canActivate(context)) as boolean;
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'UNAUTHORIZED') {
        const http = context.switchToHttp();
        const challenge = bearerChallenge(this.config, http.getRequest<Request>(), error.toBody());
        if (challenge) http.getResponse<Response>().setHeader('WWW-Authenticate', challenge);
      }
      throw error;
    }
  }
}
