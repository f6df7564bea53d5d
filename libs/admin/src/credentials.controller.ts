import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { CredentialService } from '#libs/identity';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { presentCertificate, presentOidcSubject, presentPage, presentToken } from './admin.presenters.js';
import {
  agentIdParamSchema,
  certificateBindSchema,
  oidcSubjectBindSchema,
  pageQuerySchema,
  tokenCreateSchema,
  uuidParamSchema,
  type CertificateBindDto,
  type OidcSubjectBindDto,
  type PageQueryDto,
  type TokenCreateDto,
} from './admin.schemas.js';

/**
 * Credentials of agents (contract §7): API tokens, certificate bindings and OIDC subject bindings.
 * Revoking or unbinding disconnects the sessions using the credential on every node.
 */
@Controller('admin/v1')
@Roles('operator')
export class CredentialsController {
  constructor(
    private readonly credentials: CredentialService,
    private readonly access: AdminAccess,
  ) {}

  /** 201 `{ token_id, name, token, expires_at }`: the only time the token is shown. */
  @Post('agents/:agentId/tokens')
  @ApiRoute({ summary: 'Issue an API token (shown once)', body: tokenCreateSchema, response: 'issuedToken', status: 201 })
  async issueToken(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Body({ schema: tokenCreateSchema }) body: TokenCreateDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    const expiresAt = body.expires_in_s
      ? new Date(Date.now() + body.expires_in_s * 1000)
      : body.expires_at
        ? new Date(body.expires_at)
        : null;
    return (await this.credentials.issueToken(agentId, { name: body.name ?? null, expiresAt }, actorOf(admin))).issued;
  }

  @Get('agents/:agentId/tokens')
  @ApiRoute({ summary: "List an agent's tokens (no secrets)", query: pageQuerySchema, response: 'token', page: true })
  async listTokens(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Query({ schema: pageQuerySchema }) query: PageQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    return presentPage(await this.credentials.listTokens(agentId, query), presentToken);
  }

  @Delete('tokens/:tokenId')
  @HttpCode(204)
  @ApiRoute({ summary: 'Revoke a token', response: 'none' })
  async revokeToken(@Param('tokenId', { schema: uuidParamSchema }) tokenId: string, @CurrentAdmin() admin: AdminPrincipal): Promise<void> {
    await this.access.credential(admin, 'token', tokenId);
    await this.credentials.revokeToken(tokenId, actorOf(admin));
  }

  @Post('agents/:agentId/certificates')
  @ApiRoute({ summary: 'Bind a client certificate', body: certificateBindSchema, response: 'certificate', status: 201 })
  async bindCertificate(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Body({ schema: certificateBindSchema }) body: CertificateBindDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    return presentCertificate(await this.credentials.bindCertificate(agentId, body, actorOf(admin)));
  }

  @Get('agents/:agentId/certificates')
  @ApiRoute({ summary: "List an agent's certificate bindings", query: pageQuerySchema, response: 'certificate', page: true })
  async listCertificates(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Query({ schema: pageQuerySchema }) query: PageQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    return presentPage(await this.credentials.listCertificates(agentId, query), presentCertificate);
  }

  @Delete('certificates/:bindingId')
  @HttpCode(204)
  @ApiRoute({ summary: 'Remove a certificate binding', response: 'none' })
  async unbindCertificate(
    @Param('bindingId', { schema: uuidParamSchema }) bindingId: string,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<void> {
    await this.access.credential(admin, 'certificate', bindingId);
    await this.credentials.unbindCertificate(bindingId, actorOf(admin));
  }

  @Post('agents/:agentId/oidc-subjects')
  @ApiRoute({ summary: 'Bind an IdP subject', body: oidcSubjectBindSchema, response: 'oidcSubject', status: 201 })
  async bindOidcSubject(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Body({ schema: oidcSubjectBindSchema }) body: OidcSubjectBindDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    return presentOidcSubject(await this.credentials.bindOidcSubject(agentId, body.subject, body.issuer ?? null, actorOf(admin)));
  }

  @Get('agents/:agentId/oidc-subjects')
  @ApiRoute({ summary: "List an agent's IdP subject bindings", query: pageQuerySchema, response: 'oidcSubject', page: true })
  async listOidcSubjects(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Query({ schema: pageQuerySchema }) query: PageQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    return presentPage(await this.credentials.listOidcSubjects(agentId, query), presentOidcSubject);
  }

  @Delete('oidc-subjects/:subjectId')
  @HttpCode(204)
  @ApiRoute({ summary: 'Remove an IdP subject binding', response: 'none' })
  async unbindOidcSubject(
    @Param('subjectId', { schema: uuidParamSchema }) subjectId: string,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<void> {
    await this.access.credential(admin, 'oidc_subject', subjectId);
    await this.credentials.unbindOidcSubject(subjectId, actorOf(admin));
  }
}
