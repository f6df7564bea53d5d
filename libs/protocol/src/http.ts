/** An entry of `GET /gateway/agents`. */
export interface DirectoryEntry {
  agent_id: string;
  agent_name: string;
  capabilities: string[];
  status: 'online';
  last_heartbeat: string;
}

/** `GET /gateway/agents`. */
export interface DirectoryResponse {
  agents: DirectoryEntry[];
}

/** `GET /gateway/agents/{agent_id}`: the card of a connected agent. */
export interface AgentDetailResponse extends DirectoryEntry {
  description: string | null;
  metadata: Record<string, unknown>;
  connected_at: string;
}

/** `GET /gateway/status`. */
export interface StatusResponse {
  status: 'running';
  version: string;
  uptime_seconds: number;
  connected_agents: number;
  total_messages: number;
}

/** The transports an agent can use, as the manifest lists them. */
export type TransportName = 'socket.io' | 'websocket' | 'http';

/** The authentication methods, as `AUTH_METHODS` and the manifest name them. */
export type AuthMethod = 'token' | 'oidc' | 'mtls' | 'none';

/** `GET /gateway/manifest`: enough for an agent to decide whether and how to connect. */
export interface ManifestResponse {
  name: string;
  description: string;
  version: string;
  current_agents: number;
  max_capacity: number;
  auth_methods: AuthMethod[];
  transports: TransportName[];
  features: string[];
  endpoints: {
    socketio: { path: string; namespace: string };
    /** The plain WebSocket endpoint (contract §4). */
    websocket: { path: string };
    http: { base: string };
  };
  limits: {
    max_message_bytes: number;
    heartbeat_interval_s: number;
    heartbeat_timeout_s: number;
  };
}

/** `GET /healthz` and `GET /readyz`. */
export interface HealthResponse {
  status: 'ok' | 'unavailable';
  checks?: Record<string, 'ok' | 'down'>;
}
