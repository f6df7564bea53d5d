/**
 * An entry of `GET /gateway/agents`: a connected agent (`online`), or a remote A2A agent the
 * gateway calls on its behalf (`remote`, issue 13), which has no heartbeat (`last_heartbeat: null`).
 */
export interface DirectoryEntry {
  agent_id: string;
  agent_name: string;
  capabilities: string[];
  status: 'online' | 'remote';
  last_heartbeat: string | null;
}

/** `GET /gateway/agents`. */
export interface DirectoryResponse {
  agents: DirectoryEntry[];
}

/** `GET /gateway/agents/{agent_id}`: the card of a connected agent (or of a remote one: `connected_at: null`). */
export interface AgentDetailResponse extends DirectoryEntry {
  description: string | null;
  metadata: Record<string, unknown>;
  connected_at: string | null;
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

/**
 * What Redis's persistence settings mean for the audit queue it holds (`/readyz`
 * `checks.redis_persistence`, the `mode` label of `agw_redis_durable`):
 * - `aof_always`, `aof_everysec`: AOF with that fsync policy; queued records survive a Redis
 *   restart (everysec: a host crash may lose the last second). The two durable modes.
 * - `aof_no`: AOF with `appendfsync no`; a host crash loses what the OS had not flushed (tens of seconds).
 * - `volatile`: no AOF (no persistence, or RDB snapshots only): a restart loses what was queued
 *   since the last snapshot, or everything.
 * - `unknown`: the settings could not be read (`CONFIG` refused, and `INFO persistence` does not
 *   tell the fsync policy or was refused too).
 */
export type RedisPersistenceMode = 'aof_always' | 'aof_everysec' | 'aof_no' | 'volatile' | 'unknown';

/** A probe of `/readyz`: `down` makes the node not ready. */
export type ProbeState = 'ok' | 'down';

/** The `checks` of `GET /readyz`. */
export interface ReadinessChecks {
  postgres: ProbeState;
  redis: ProbeState;
  /** `down` while the node drains (SIGTERM). */
  accepting: ProbeState;
  /**
   * A detail, never a reason to be unready: how durable the audit queue in Redis is. Absent until
   * the first reading, and in a process that does not watch it.
   */
  redis_persistence?: RedisPersistenceMode;
}

/** `GET /healthz` and `GET /readyz`. */
export interface HealthResponse {
  status: 'ok' | 'unavailable';
  checks?: ReadinessChecks;
}
