import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AuthService } from '#libs/auth';
import type { Caller } from '#libs/routing';
import { httpCredentials } from './credentials.js';

type AuthenticatedRequest = Request & { caller?: Caller };

/**
 * Authenticates an agent HTTP request with the same verifiers as the socket handshake. For
 * `POST /gateway/send`, a `from_agent_id` in the body is the claimed agent.
 */
@Injectable()
export class AgentAuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const body: unknown = request.body;
    const from = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).from_agent_id : undefined;
    const credentials = httpCredentials(request, typeof from === 'string' ? from : undefined);
    const principal = await this.auth.authenticate(credentials);
    request.caller = {
      principal,
      tenantId: principal.tenantId,
      agentId: principal.agentId,
      session: null,
      remoteAddress: credentials.remoteAddress,
      transport: 'http',
    };
    return true;
  }
}

/** The authenticated caller of an agent HTTP request (set by {@link AgentAuthGuard}). */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without AgentAuthGuard');
  return caller;
});
