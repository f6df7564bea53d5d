/** Response bodies of the admin API (contract §7), as the console reads them. */
export interface Tenant {
  tenant_id: string;
  name: string;
  created_at: string;
}

export interface Agent {
  agent_id: string;
  tenant_id: string;
  agent_name: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
  status: 'enabled' | 'disabled';
  created_at: string;
  updated_at: string;
  /** Remote A2A agents only (contract §9): where the gateway sends, and whether a credential is stored (never the credential). */
  a2a_url?: string;
  a2a_credential?: { type: 'bearer' | 'header'; configured: true } | null;
}

export interface ApiToken {
  token_id: string;
  agent_id: string;
  name: string | null;
  hint: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface IssuedToken {
  token_id: string;
  name: string | null;
  token: string;
  expires_at: string | null;
}

export interface Certificate {
  id: string;
  agent_id: string;
  fingerprint_sha256?: string;
  spiffe_id?: string;
  subject_cn?: string;
  created_at: string;
}

export interface OidcSubject {
  id: string;
  agent_id: string;
  subject: string;
  issuer: string | null;
  created_at: string;
}

export interface SessionView {
  session_id: string;
  agent_id: string;
  tenant_id: string;
  node_id: string;
  transport: string;
  remote_addr: string;
  connected_at: string;
  last_heartbeat: string;
}

export interface AuditRecord {
  id: string;
  seq: number;
  timestamp: string;
  tenant_id: string | null;
  action: string;
  actor: { type: 'agent' | 'admin' | 'system'; id: string };
  subject: string | null;
  outcome: 'allowed' | 'denied' | 'error';
  reason: string | null;
  session_id: string | null;
  remote_addr: string | null;
  node_id: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}
