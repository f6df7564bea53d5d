import { createParamDecorator, Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import type { Caller } from '#libs/routing';

/** Authenticates an agent HTTP request through the `agent` passport strategy. */
@Injectable()
export class AgentAuthGuard extends AuthGuard('agent') {
  // Passport's own "Unauthorized" would hide the verifier's code and message: rethrow it as is.
  override handleRequest<TUser = Caller>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw new Error('agent strategy returned no caller');
    return user;
  }
}

/** The authenticated caller of an agent HTTP request (set by {@link AgentAuthGuard}). */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<Request & { user?: Caller }>().user;
  if (!caller) throw new Error('CurrentCaller used on a route without AgentAuthGuard');
  return caller;
});
