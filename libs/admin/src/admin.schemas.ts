import * as z from 'zod';
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN, MAX_CURSOR_LENGTH, TENANT_ID_PATTERN, TOPIC_PATTERN } from '#libs/protocol';
import { VERIFY_DEFAULT_LIMIT, VERIFY_MAX_LIMIT } from '#libs/audit';
import { a2aCredentialSchema, a2aUrlSchema } from '#libs/a2a';
import { API_TOKEN_NAME_PATTERN, API_TOKEN_NAME_RULE, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '#libs/identity';

/*
 * Request schemas of the admin API. Strict objects: an unknown field is an error, not a no-op.
 */

const tenantId = z.string().regex(TENANT_ID_PATTERN, { error: 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' });
const agentId = z.string().regex(AGENT_ID_PATTERN, { error: 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });
const capabilities = z
  .array(z.string().regex(CAPABILITY_PATTERN, { error: 'must be a capability matching ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$' }))
  .max(64);
const metadata = z.record(z.string(), z.unknown());
const status = z.enum(['enabled', 'disabled']);

/** The `cursor` of every list: a `next_cursor` the same list returned (decoded and checked by the list's codec). */
const cursor = z.string().max(MAX_CURSOR_LENGTH).optional();

/** `limit` and `cursor` of every list. */
export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor,
});

export const tenantCreateSchema = z.strictObject({ tenant_id: tenantId, name: z.string().min(1).max(200) });

export const agentCreateSchema = z
  .strictObject({
    agent_id: agentId,
    tenant_id: tenantId,
    agent_name: z.string().min(1).max(128).optional(),
    capabilities: capabilities.optional(),
    description: z.string().max(2000).nullable().optional(),
    metadata: metadata.optional(),
    status: status.optional(),
    /** A remote A2A agent (contract §9): its base or card URL, and what to present to it. */
    a2a_url: a2aUrlSchema.optional(),
    a2a_credential: a2aCredentialSchema.optional(),
  })
  .refine((b) => b.a2a_credential === undefined || b.a2a_url !== undefined, {
    error: 'a2a_credential needs a2a_url',
    path: ['a2a_credential'],
  });

export const agentUpdateSchema = z
  .strictObject({
    agent_name: z.string().min(1).max(128).optional(),
    capabilities: capabilities.optional(),
    description: z.string().max(2000).nullable().optional(),
    metadata: metadata.optional(),
    status: status.optional(),
    /** null: no longer a remote agent (the credential goes too). */
    a2a_url: a2aUrlSchema.nullable().optional(),
    /** null: no credential. */
    a2a_credential: a2aCredentialSchema.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { error: 'at least one field to change is required' });

export const agentListQuerySchema = pageQuerySchema.extend({ tenant_id: tenantId.optional(), status: status.optional() });

export const agentIdParamSchema = agentId;

export const tenantIdParamSchema = tenantId;

/** `{ name?, expires_in_s? }` (contract §7), or `expires_at` instead of `expires_in_s`. */
export const tokenCreateSchema = z
  .strictObject({
    name: z.string().regex(API_TOKEN_NAME_PATTERN, { error: API_TOKEN_NAME_RULE }).nullable().optional(),
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
    expires_in_s: z
      .number()
      .int()
      .min(1)
      .max(10 * 365 * 86400)
      .optional(),
  })
  .refine((b) => !(b.expires_at && b.expires_in_s), { error: 'give expires_at or expires_in_s, not both' });

export const certificateBindSchema = z.union(
  [
    z.strictObject({ fingerprint_sha256: z.string().min(64).max(95) }),
    z.strictObject({ spiffe_id: z.string().min(10).max(2048) }),
    z.strictObject({ subject_cn: z.string().min(1).max(64) }),
  ],
  { error: 'give exactly one of fingerprint_sha256, spiffe_id, subject_cn' },
);

export const oidcSubjectBindSchema = z.strictObject({
  subject: z.string().min(1).max(512),
  issuer: z.url().max(2048).nullable().optional(),
});

export const uuidParamSchema = z.string().max(64);

export type TenantCreateDto = z.infer<typeof tenantCreateSchema>;
export type AgentCreateDto = z.infer<typeof agentCreateSchema>;
export type AgentUpdateDto = z.infer<typeof agentUpdateSchema>;
export type AgentListQueryDto = z.infer<typeof agentListQuerySchema>;
export type PageQueryDto = z.infer<typeof pageQuerySchema>;
export type TokenCreateDto = z.infer<typeof tokenCreateSchema>;
export type CertificateBindDto = z.infer<typeof certificateBindSchema>;
export type OidcSubjectBindDto = z.infer<typeof oidcSubjectBindSchema>;

const auditFilters = {
  tenant_id: tenantId.optional(),
  agent_id: agentId.optional(),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/, { error: 'must be an audit action like message.routed' })
    .optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
};

export const auditListQuerySchema = pageQuerySchema.extend(auditFilters);
export const auditExportQuerySchema = z.strictObject({ ...auditFilters, format: z.enum(['ndjson', 'csv']).default('ndjson') });
/** The chain check: one tenant's chain or all, at most `limit` records per call, resumed by `cursor`. */
export const auditVerifyQuerySchema = z.strictObject({
  tenant_id: tenantId.optional(),
  limit: z.coerce.number().int().min(1).max(VERIFY_MAX_LIMIT).default(VERIFY_DEFAULT_LIMIT),
  cursor,
});

export type AuditListQueryDto = z.infer<typeof auditListQuerySchema>;
export type AuditExportQueryDto = z.infer<typeof auditExportQuerySchema>;
export type AuditVerifyQueryDto = z.infer<typeof auditVerifyQuerySchema>;

export const sessionListQuerySchema = pageQuerySchema.extend({ tenant_id: tenantId.optional(), agent_id: agentId.optional() });
export const sessionIdParamSchema = z.string().min(1).max(128);
export type SessionListQueryDto = z.infer<typeof sessionListQuerySchema>;

/** `/admin/login?return_to=/admin/session`: where the browser goes once signed in (a path of this site). */
export const loginQuerySchema = z.strictObject({ return_to: z.string().max(512).optional() });
export type LoginQueryDto = z.infer<typeof loginQuerySchema>;

/** `/admin/callback`: what the IdP appends (RFC 6749 §4.1.2, RFC 9207 `iss`), read again by `openid-client`. */
export const callbackQuerySchema = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
export type CallbackQueryDto = z.infer<typeof callbackQuerySchema>;

/** `POST /admin/login/token`: the console's break-glass sign-in. */
export const breakGlassLoginSchema = z.strictObject({ token: z.string().min(1, { error: 'is required' }).max(1024) });
export type BreakGlassLoginDto = z.infer<typeof breakGlassLoginSchema>;

const policySubject = z.strictObject({ agent_id: agentId, capabilities: capabilities.optional() });

/**
 * `POST /admin/v1/tenants/{tenant_id}/policy/test`: a would-be request evaluated against a policy
 * document, the saved one or `document` (checked as PUT would check it), without sending anything.
 */
export const policyTestSchema = z.discriminatedUnion('action', [
  z.strictObject({
    document: z.unknown().optional(),
    action: z.literal('send'),
    from: policySubject,
    to: policySubject.extend({ tenant_id: tenantId.optional() }),
  }),
  z.strictObject({
    document: z.unknown().optional(),
    action: z.enum(['publish', 'subscribe']),
    from: policySubject,
    topic: z.string().regex(TOPIC_PATTERN, { error: 'must be a topic name matching ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$' }),
  }),
]);
export type PolicyTestDto = z.infer<typeof policyTestSchema>;
