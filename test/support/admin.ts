import { http } from './agents.js';
import { TEST_ADMIN_TOKEN, uniqueId } from './env.js';
import type { GatewayProcess } from './gateway-process.js';

/** Calls to the admin API of a test gateway, with the break-glass token. */
export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Creates a tenant (unique id unless given) and returns its id. */
  tenant(id?: string): Promise<string>;
  /** Registers an agent in `tenant` and returns its id. */
  agent(tenant: string, options?: { id?: string; capabilities?: string[] }): Promise<string>;
  /** Issues an API token for the agent. */
  token(agentId: string, expiresInS?: number): Promise<{ token_id: string; token: string; expires_at: string | null }>;
}

export function adminClient(gateway: GatewayProcess, token = TEST_ADMIN_TOKEN): AdminClient {
  const call: AdminClient['call'] = async (method, path, body) => {
    const { status, body: json } = await http(method, `${gateway.adminUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined && { body }),
    });
    return { status, body: json };
  };
  const expect201 = async (method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await call(method, path, body);
    if (response.status !== 201) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  return {
    call,
    tenant: async (id = uniqueId('tenant')) => {
      await expect201('POST', '/admin/v1/tenants', { tenant_id: id, name: id });
      return id;
    },
    agent: async (tenant, options = {}) => {
      const id = options.id ?? uniqueId('agent');
      await expect201('POST', '/admin/v1/agents', {
        agent_id: id,
        tenant_id: tenant,
        ...(options.capabilities && { capabilities: options.capabilities }),
      });
      return id;
    },
    token: async (agentId, expiresInS) =>
      (await expect201('POST', `/admin/v1/agents/${agentId}/tokens`, expiresInS ? { expires_in_s: expiresInS } : {})) as {
        token_id: string;
        token: string;
        expires_at: string | null;
      },
  };
}
