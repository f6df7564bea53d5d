import type { AuthMethod } from '#libs/protocol';
import type { PresentedCertificate } from './client-certificate.js';

/** What the gateway knows about a registered agent, as the credential's lookup found it. */
export interface AgentProfile {
  agentName: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
}

/**
 * Who a connection or request is (contract §2): the result of every verifier. Guards and services
 * see only this, never a raw token or certificate.
 */
export interface Principal {
  tenantId: string;
  agentId: string;
  method: AuthMethod;
  /** The id of the credential (token id, certificate binding id, OIDC subject binding id); null for `none`. */
  credentialId: string | null;
  /** When the credential stops being valid; null when it does not expire. */
  expiresAt: Date | null;
  /** The registered agent; null for `none`, whose agents are not registered. */
  profile: AgentProfile | null;
}

/** The transports a credential can arrive on. */
export type CredentialTransport = 'socket.io' | 'websocket' | 'http';

/** What a client presented, gathered by the transport before any check. */
export interface PresentedCredentials {
  /** A bearer token (handshake `auth.token`, `Authorization: Bearer`, or the discouraged query parameter). */
  token?: string;
  /** The `agent_id` the client claims to be; must match the credential's agent. */
  claimedAgentId?: string;
  /** A client certificate: from the TLS handshake, or forwarded by a trusted proxy. */
  certificate?: PresentedCertificate;
  /** The client's address (through trusted proxies), for throttling and audit. */
  remoteAddress: string;
  transport: CredentialTransport;
}
