import { createParamDecorator, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { PUBLIC_ROUTE } from '#libs/observability';
import type { AdminPrincipal } from './admin-principal.js';

/**
 * The global guard of the admin listener: every route needs an admin credential (a bearer token or
 * the console's session cookie) unless marked
 * `@Public()`. `RolesGuard` runs after it on the {@link AdminPrincipal} it sets.
 */
@Injectable()
export class AdminAuthGuard extends AuthGuard('admin-bearer') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext): ReturnType<ReturnType<typeof AuthGuard>['prototype']['canActivate']> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    return super.canActivate(context);
  }

  // Keep the strategy's own GatewayError (code and message) instead of passport's generic 401.
  override handleRequest<TUser = AdminPrincipal>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw new Error('admin strategy returned no principal');
    return user;
  }
}

/** The authenticated admin (set by {@link AdminAuthGuard}). */
export const CurrentAdmin = createParamDecorator((_data: unknown, context: ExecutionContext): AdminPrincipal => {
  const admin = context.switchToHttp().getRequest<Request & { user?: AdminPrincipal }>().user;
  if (!admin) throw new Error('CurrentAdmin used on a public route');
  return admin;
});
