import { applyDecorators } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
} from '@nestjs/swagger';
import helmet from 'helmet';
import { z } from 'zod';
import { AUDIT_ACTIONS } from '#libs/audit';
import type { GatewayConfig } from '#libs/config';
import { policyDocumentSchema } from '#libs/policy';
import { ERROR_CODES } from '#libs/protocol';
import { rateLimitDocumentSchema } from '#libs/ratelimit';
import { serveConsole } from './console-assets.js';

/**
 * The OpenAPI 3.0 Schema Object of a zod schema: as a request takes it (`input`: before coercion and
 * defaults), or as a response is served (`output`: objects closed, so every field served is a field
 * documented; test/openapi.e2e-spec.ts validates real responses against these).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/**
 * The one error body of every transport (contract §6). `error` stays open: fields may be added
 * (a client must ignore those it does not know), `request_id` and `reason` are documented ahead.
 */
const errorBody = z.object({
  error: z.looseObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    retry_after_ms: z.number().int().min(0).optional().describe('RATE_LIMIT: when to retry'),
    request_id: z.string().optional().describe('the correlation id of the request, also on the log line'),
    reason: z.string().optional().describe('a machine-readable reason beside the code'),
  }),
});

const iso = z.iso.datetime().describe('ISO 8601 time, UTC');
const page = (item: z.ZodType) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });

const policyDecision = z.object({
  tenant_id: z.string(),
  allowed: z.boolean(),
  reason: z.enum(['allowed_by_rule', 'no_allow_rule', 'denied_by_rule', 'evaluation_error']),
  rule: z.number().int().nullable().describe('index in rules of the deciding rule'),
});

/** The response bodies of the admin API, by name. */
export const ADMIN_RESPONSES = {
  tenant: z.object({ tenant_id: z.string(), name: z.string(), created_at: iso }),
  agent: z.object({
    agent_id: z.string(),
    tenant_id: z.string(),
    agent_name: z.string(),
    capabilities: z.array(z.string()),
    description: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(['enabled', 'disabled']),
    created_at: iso,
    updated_at: iso,
    a2a_url: z.string().optional().describe('a remote A2A agent only: the URL the gateway calls (contract §9)'),
    a2a_credential: z
      .object({ type: z.enum(['bearer', 'header']), configured: z.literal(true) })
      .nullable()
      .optional()
      .describe('a remote A2A agent only: whether a credential is stored for it; never the credential itself'),
  }),
  issuedToken: z.object({
    token_id: z.string(),
    name: z.string().nullable(),
    token: z.string().describe('shown once'),
    expires_at: iso.nullable(),
  }),
  token: z.object({
    token_id: z.string(),
    agent_id: z.string(),
    name: z.string().nullable(),
    hint: z.string(),
    created_at: iso,
    expires_at: iso.nullable(),
    revoked_at: iso.nullable(),
    last_used_at: iso.nullable(),
  }),
  certificate: z.object({
    id: z.string(),
    agent_id: z.string(),
    fingerprint_sha256: z.string().optional(),
    spiffe_id: z.string().optional(),
    subject_cn: z.string().optional(),
    created_at: iso,
  }),
  oidcSubject: z.object({ id: z.string(), agent_id: z.string(), subject: z.string(), issuer: z.string().nullable(), created_at: iso }),
  policy: policyDocumentSchema.extend({
    tenant_id: z.string(),
    version: z.number().int(),
    updated_at: iso.nullable(),
    updated_by: z.string().nullable(),
    default: z.boolean(),
  }),
  rateLimits: rateLimitDocumentSchema.extend({
    effective_defaults: z.record(z.string(), z.number()),
    version: z.number().int(),
    updated_at: iso.nullable(),
    updated_by: z.string().nullable(),
  }),
  session: z.object({
    session_id: z.string(),
    agent_id: z.string(),
    tenant_id: z.string(),
    node_id: z.string(),
    transport: z.string(),
    remote_addr: z.string(),
    connected_at: iso,
    last_heartbeat: iso,
  }),
  auditRecord: z.object({
    id: z.string(),
    seq: z.number().int(),
    timestamp: iso,
    tenant_id: z.string().nullable(),
    action: z.enum(AUDIT_ACTIONS),
    actor: z.object({ type: z.enum(['agent', 'admin', 'system']), id: z.string() }),
    subject: z.string().nullable(),
    outcome: z.enum(['allowed', 'denied', 'error']),
    reason: z.string().nullable(),
    session_id: z.string().nullable(),
    remote_addr: z.string().nullable(),
    node_id: z.string(),
    details: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
  }),
  adminSession: z.object({
    subject: z.string(),
    roles: z.array(z.enum(['admin', 'operator', 'auditor'])),
    tenant_id: z.string().nullable(),
    kind: z.enum(['break_glass', 'sso']),
    expires_at: iso.nullable().describe('console sessions only'),
    csrf_token: z.string().nullable().describe('console sessions only: send as X-CSRF-Token on every change'),
  }),
  policyTest: z.object({
    allowed: z.boolean().describe('what the router would decide'),
    sender: policyDecision,
    receiver: policyDecision.nullable().describe("a cross-tenant send: the receiver's saved policy, which must consent too"),
  }),
  overview: z.object({
    generated_at: iso,
    nodes: z.array(
      z.object({
        node_id: z.string(),
        sessions: z.number().int(),
        messages_per_second: z.number().nullable().describe('null: the node published none lately, or a tenant-bound caller'),
        audit_lag_s: z.number().nullable().describe('mean event-to-row time of the audit records it wrote in its last interval'),
      }),
    ),
    sessions: z.number().int(),
    connected_agents: z.number().int(),
    messages_per_second: z.number().nullable().describe('the whole cluster; null for a tenant-bound caller'),
    audit: z.object({ lag_s: z.number().nullable(), newest_record_at: iso.nullable() }),
    readiness: z.object({ postgres: z.enum(['ok', 'down']), redis: z.enum(['ok', 'down']) }),
  }),
  loginMethods: z.object({
    sso: z.boolean().describe('GET /admin/login leads to the IdP'),
    break_glass: z.boolean().describe('POST /admin/login/token takes ADMIN_TOKEN'),
  }),
  consoleLogin: z.object({ expires_at: iso.describe('when the session cookie set by this response ends') }),
  logout: z.object({
    signed_out: z.boolean(),
    end_session_url: z.string().nullable().describe("the IdP's end-session endpoint, to end the SSO session there too"),
  }),
  verify: z.object({
    ok: z.boolean().describe('no problem in what was checked; final once complete'),
    checked: z.number().int().describe('records checked by this call'),
    complete: z.boolean().describe('every chain walked to its head, or stopped at a problem'),
    next_cursor: z.string().nullable().describe('pass as cursor to continue; null once complete'),
    first_bad_id: z.string().optional(),
    chain: z.string().optional(),
    first_bad_seq: z.number().int().optional(),
    problem: z.enum(['hash_mismatch', 'broken_link', 'missing_records', 'missing_tail', 'cursor_mismatch']).optional(),
  }),
} satisfies Record<string, z.ZodType>;

type ResponseName = keyof typeof ADMIN_RESPONSES;

/**
 * The OpenAPI description of a route, from the same zod schemas that validate it: request body and
 * query, the success response (`page` wraps it in `{ items, next_cursor }`; `none` is 204), and
 * the error body of every refusal.
 */
export function ApiRoute(spec: {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  response: ResponseName | 'none' | 'stream' | 'redirect';
  page?: boolean;
  status?: number;
}) {
  const success = spec.status ?? (spec.response === 'none' ? 204 : spec.response === 'redirect' ? 302 : 200);
  const decorators = [
    ApiOperation({ summary: spec.summary }),
    ApiBearerAuth(),
    ...(spec.body ? [ApiBody({ schema: jsonSchema(spec.body) })] : []),
    ...Object.entries(spec.query?.shape ?? {}).map(([name, field]) =>
      ApiQuery({ name, required: !(field as z.ZodType).safeParse(undefined).success, schema: jsonSchema(field as z.ZodType) }),
    ),
    spec.response === 'none'
      ? ApiResponse({ status: success, description: 'done' })
      : spec.response === 'redirect'
        ? ApiResponse({ status: success, description: 'redirect (Location header)' })
        : spec.response === 'stream'
          ? ApiResponse({ status: success, description: 'NDJSON (application/x-ndjson) or CSV (text/csv), streamed' })
          : ApiResponse({
              status: success,
              description: 'success',
              schema: jsonSchema(spec.page ? page(ADMIN_RESPONSES[spec.response]) : ADMIN_RESPONSES[spec.response], 'output'),
            }),
    ...[400, 401, 403, 404, 409, 429, 503].map((status) =>
      ApiResponse({ status, description: 'error', schema: jsonSchema(errorBody, 'output') }),
    ),
  ];
  return applyDecorators(...decorators);
}

/** The OpenAPI document of the admin plane. */
export function adminOpenApi(app: NestExpressApplication, config: GatewayConfig): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('agent-gateway admin API')
    .setDescription(
      'Contract §7. Bearer: an SSO access token of ADMIN_OIDC_ISSUER, or the break-glass ADMIN_TOKEN; or the console session cookie of /admin/login (changes then need X-CSRF-Token from GET /admin/session). Roles: admin, operator, auditor.',
    )
    .setVersion(config.version)
    .addBearerAuth();
  return SwaggerModule.createDocument(app, builder.build());
}

/**
 * What the admin listener adds to Nest's defaults: security headers (helmet), CORS only for
 * `ADMIN_CORS_ORIGINS`, the OpenAPI document at `/admin/docs` (UI) and `/admin/docs/openapi.json`,
 * and the web console at `/console` (its own, stricter CSP).
 */
export function configureAdminPlane(config: GatewayConfig): (app: NestExpressApplication) => void {
  return (app) => {
    app.use(helmet());
    serveConsole(app);
    if (config.adminPlane.corsOrigins.length > 0) app.enableCors({ origin: config.adminPlane.corsOrigins, credentials: true });
    SwaggerModule.setup('admin/docs', app, () => adminOpenApi(app, config), {
      jsonDocumentUrl: 'admin/docs/openapi.json',
      useGlobalPrefix: false,
    });
  };
}
