import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '#libs/observability';
import { Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { AdminLoginService } from './admin-login.service.js';
import type { AdminPrincipal } from './admin-principal.js';
import {
  breakGlassLoginSchema,
  callbackQuerySchema,
  loginQuerySchema,
  type BreakGlassLoginDto,
  type CallbackQueryDto,
  type LoginQueryDto,
} from './admin.schemas.js';
import { BreakGlassLogin } from './break-glass-login.service.js';
import { BreakGlassCredential } from './break-glass.credential.js';
import { ApiRoute } from './openapi.js';

/**
 * The browser login of the admin console: `/admin/login` → the IdP → `/admin/callback` → a
 * session cookie; `/admin/session` tells the console who it is and its CSRF token;
 * `/admin/logout` ends the session; `/admin/login/token` is the console's break-glass sign-in and
 * `/admin/login/methods` tells the sign-in page which ways are on. Bearer callers (scripts) never need these.
 */
@Controller('admin')
export class AdminLoginController {
  constructor(
    private readonly login: AdminLoginService,
    private readonly breakGlass: BreakGlassLogin,
    private readonly breakGlassCredential: BreakGlassCredential,
  ) {}

  @Get('login/methods')
  @Public()
  @ApiRoute({ summary: 'Which sign-in methods the console offers', response: 'loginMethods' })
  methods(@Res({ passthrough: true }) response: Response) {
    response.setHeader('cache-control', 'no-store');
    return { sso: this.login.ssoEnabled, break_glass: this.breakGlassCredential.configured };
  }

  @Post('login/token')
  @Public()
  @HttpCode(200)
  @ApiRoute({
    summary: 'Break-glass console sign-in: a valid ADMIN_TOKEN becomes the session cookie',
    body: breakGlassLoginSchema,
    response: 'consoleLogin',
  })
  async token(
    @Body({ schema: breakGlassLoginSchema }) body: BreakGlassLoginDto,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { cookie, expiresAt } = await this.breakGlass.signIn(request, body.token);
    response.setHeader('cache-control', 'no-store').setHeader('set-cookie', cookie);
    return { expires_at: expiresAt };
  }

  @Get('login')
  @Public()
  @ApiRoute({ summary: 'Sign in through the enterprise IdP (authorization code + PKCE)', query: loginQuerySchema, response: 'redirect' })
  async start(@Query({ schema: loginQuerySchema }) query: LoginQueryDto, @Res() response: Response): Promise<void> {
    const { location, cookie } = await this.login.begin(query.return_to);
    response.setHeader('cache-control', 'no-store').setHeader('set-cookie', cookie).redirect(302, location);
  }

  @Get('callback')
  @Public()
  @ApiRoute({ summary: "The IdP's redirect back: sets the session cookie", query: callbackQuerySchema, response: 'redirect' })
  async callback(
    // Validated for shape and size; openid-client reads the parameters again from the URL.
    @Query({ schema: callbackQuerySchema }) _query: CallbackQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const { cookie, clearState, returnTo } = await this.login.complete(request);
    response.setHeader('cache-control', 'no-store').setHeader('set-cookie', [clearState, cookie]).redirect(302, returnTo);
  }

  @Get('session')
  @Roles('admin', 'operator', 'auditor')
  @ApiRoute({ summary: 'Who is signed in; the CSRF token of a console session', response: 'adminSession' })
  session(@CurrentAdmin() admin: AdminPrincipal, @Res({ passthrough: true }) response: Response) {
    response.setHeader('cache-control', 'no-store');
    return {
      subject: admin.subject,
      roles: admin.roles,
      tenant_id: admin.tenantId,
      kind: admin.kind,
      expires_at: admin.console?.expiresAt ?? null,
      csrf_token: admin.console?.csrfToken ?? null,
    };
  }

  @Post('logout')
  @HttpCode(200)
  @Roles('admin', 'operator', 'auditor')
  @ApiRoute({ summary: 'End the console session (needs X-CSRF-Token)', response: 'logout' })
  async logout(@CurrentAdmin() admin: AdminPrincipal, @Res({ passthrough: true }) response: Response) {
    const { signedOut, clear, endSessionUrl } = await this.login.logout(admin);
    if (clear) response.setHeader('set-cookie', clear);
    return { signed_out: signedOut, end_session_url: endSessionUrl };
  }
}
