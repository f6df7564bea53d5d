import type { Attributes } from '@opentelemetry/api';

/**
 * The name of every span the gateway makes (docs/observability.md describes each). Event spans are
 * `agw.<event>` for the events of contract §3 (`agw.send`, `agw.result`…), `agw.invalid` otherwise.
 */
export const SPANS = {
  /** A connection being admitted: authentication, connect limits, presence. */
  connect: 'agw.connect',
  /** One client event through the dispatcher. */
  event: (event: string): string => `agw.${event}`,
  /** The authorization guard (policy). */
  authorize: 'agw.authorize',
  /** The rate-limit guard (shared token buckets). */
  rateLimit: 'agw.rate_limit',
  /** Routing a message, a result or a topic message once the guards let it through. */
  route: 'agw.route',
  /** A request to the node holding the recipient, over Redis (client side). */
  clusterHop: 'agw.cluster.hop',
  /** That request served on the recipient's node (its child). */
  clusterServe: 'agw.cluster.serve',
  /** A delivery to the recipient's connection, until its client acknowledges it (messages) or it is written (results). */
  deliver: 'agw.deliver',
  /** An audit record handed to the durable queue (until it is in Redis, for a `delivered` send). */
  auditEnqueue: 'agw.audit.enqueue',
  /** One transaction of the audit writer, linked to the spans of the records it writes. */
  auditWrite: 'agw.audit.write',
} as const;

/** `messaging.system` of the gateway's spans: not one of the semantic conventions' registered brokers. */
export const MESSAGING_SYSTEM = 'agent_gateway';

/**
 * Attributes from a record of optional values: those undefined are left out (OTel attributes
 * have no null).
 */
export function spanAttributes(values: Record<string, string | number | boolean | undefined | null>): Attributes {
  const attributes: Attributes = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== null) attributes[name] = value;
  return attributes;
}
