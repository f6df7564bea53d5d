import * as z from 'zod';
import { AGENT_ID_PATTERN, TENANT_ID_PATTERN } from '#libs/protocol';
import { rateLimitDefaultsSchema, type RateLimitDefaults } from '#libs/config';

const messageLimits = z.strictObject({
  messages_per_second: z.number().positive().max(1_000_000).optional(),
  burst: z.number().int().min(1).max(10_000_000).optional(),
});

const tenantLimits = messageLimits.extend({
  tenant_messages_per_second: z.number().positive().max(10_000_000).optional(),
  tenant_burst: z.number().int().min(1).max(100_000_000).optional(),
});

/** The rate-limit document (contract §7.2), as the admin API takes it. */
export const rateLimitDocumentSchema = z.strictObject({
  defaults: rateLimitDefaultsSchema.partial().optional(),
  tenants: z.record(z.string().regex(TENANT_ID_PATTERN, { error: 'tenant ids only' }), tenantLimits).optional(),
  agents: z.record(z.string().regex(AGENT_ID_PATTERN, { error: 'agent ids only' }), messageLimits).optional(),
});

export type RateLimitDocument = z.infer<typeof rateLimitDocumentSchema>;

/** The limits that apply to one agent's counted events. */
export interface MessageLimits {
  ratePerSecond: number;
  burst: number;
  /** The tenant's aggregate over all its agents, when it has one. */
  tenant: { ratePerSecond: number; burst: number } | null;
}

/**
 * The limits of one agent: the most specific entry wins field by field (agent, then tenant, then
 * the defaults), and the tenant aggregate applies on top when configured.
 */
export function resolveMessageLimits(
  document: RateLimitDocument,
  defaults: RateLimitDefaults,
  tenantId: string,
  agentId: string,
): MessageLimits {
  const base = { ...defaults, ...document.defaults };
  const tenant = document.tenants?.[tenantId];
  const agent = document.agents?.[agentId];
  const ratePerSecond = agent?.messages_per_second ?? tenant?.messages_per_second ?? base.messages_per_second;
  const burst = agent?.burst ?? tenant?.burst ?? base.burst;
  const tenantRate = tenant?.tenant_messages_per_second ?? base.tenant_messages_per_second;
  const tenantBurst =
    tenant?.tenant_burst ?? base.tenant_burst ?? (tenantRate !== undefined ? Math.max(1, Math.ceil(tenantRate * 2)) : undefined);
  return {
    ratePerSecond,
    burst,
    tenant: tenantRate !== undefined && tenantBurst !== undefined ? { ratePerSecond: tenantRate, burst: tenantBurst } : null,
  };
}

/** Connects per minute per remote address. */
export function resolveConnectLimit(document: RateLimitDocument, defaults: RateLimitDefaults): number {
  return document.defaults?.connects_per_minute_per_ip ?? defaults.connects_per_minute_per_ip;
}
