import type { GatewayConfig } from '#libs/config';
import type { RedisPersistence } from '#libs/redis';

/**
 * Start-up refusal: with NODE_ENV=production, the Redis that would hold the audit queue may lose
 * it on a restart, and `AUDIT_ALLOW_VOLATILE_REDIS` does not accept that. `hint` says what to do.
 */
export class RedisNotDurableError extends Error {
  override readonly name = 'RedisNotDurableError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * The start-up rule of a process that produces audit records into the queue (the gateway,
 * `apps/admin`): in production, Redis must keep the queue across a restart (AOF with `appendfsync
 * everysec` or `always`), or the operator must accept the risk with `AUDIT_ALLOW_VOLATILE_REDIS=true`.
 * `unknown` (the settings cannot be read) is refused like `volatile`: fail closed. Outside
 * production nothing is refused; {@link RedisPersistenceWatch} logs the warning.
 *
 * @example
 * assertAuditQueueDurable(await checkRedis(config.redis.topology), config); // throws RedisNotDurableError
 */
export function assertAuditQueueDurable(persistence: RedisPersistence, config: GatewayConfig): void {
  if (persistence.durable || !config.production || config.audit.allowVolatileRedis) return;
  throw new RedisNotDurableError(
    `${atRisk(persistence, config)} (NODE_ENV=production)`,
    `${persistence.fix}, or set AUDIT_ALLOW_VOLATILE_REDIS=true to accept losing queued audit records`,
  );
}

/** The warning for the log when Redis is not durable: what is at risk, why, what to do. */
export function persistenceWarning(persistence: RedisPersistence, config: GatewayConfig): string {
  const consequence = !config.production
    ? 'with NODE_ENV=production the gateway refuses to start on it unless AUDIT_ALLOW_VOLATILE_REDIS=true'
    : config.audit.allowVolatileRedis
      ? 'accepted by AUDIT_ALLOW_VOLATILE_REDIS=true'
      : 'NODE_ENV=production: gateways refuse to start on it unless AUDIT_ALLOW_VOLATILE_REDIS=true';
  const prefix = persistence.mode === 'unknown' ? 'AUDIT QUEUE DURABILITY UNKNOWN' : 'AUDIT RECORDS AT RISK';
  return `${prefix}: ${atRisk(persistence, config)}; reporting redis_persistence=${persistence.mode}: ${persistence.fix}; ${consequence}`;
}

function atRisk(persistence: RedisPersistence, config: GatewayConfig): string {
  const where = `Redis at ${config.redis.topology.where}`;
  return persistence.mode === 'unknown'
    ? `cannot tell whether ${where} keeps queued audit records across a restart (${persistence.settings})`
    : `${where} would lose queued audit records on a restart (${persistence.settings})`;
}
