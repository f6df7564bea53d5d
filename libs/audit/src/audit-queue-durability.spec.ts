import { describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import type { RedisPersistence } from '#libs/redis';
import { RedisNotDurableError, assertAuditQueueDurable, persistenceWarning } from './audit-queue-durability.js';

const durable: RedisPersistence = { mode: 'aof_everysec', durable: true, settings: 'appendonly yes, appendfsync everysec', fix: '' };
const volatile: RedisPersistence = { mode: 'volatile', durable: false, settings: 'appendonly no, save ""', fix: 'set appendonly yes' };
const unknown: RedisPersistence = { mode: 'unknown', durable: false, settings: 'CONFIG GET refused (ERR)', fix: 'check with the provider' };

const production = (extra: NodeJS.ProcessEnv = {}) =>
  loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://:hunter2pw@cache.internal:6380', ...extra }, '0');

describe('assertAuditQueueDurable', () => {
  it('refuses a volatile or unreadable Redis in production, naming the settings, the fix and the acknowledgement', () => {
    for (const persistence of [volatile, unknown]) {
      const refuse = () => assertAuditQueueDurable(persistence, production());
      expect(refuse).toThrow(RedisNotDurableError);
      try {
        refuse();
      } catch (error) {
        const { message, hint } = error as RedisNotDurableError;
        expect(message).toContain('Redis at cache.internal:6380');
        expect(message).toContain(persistence.settings);
        expect(`${message} ${hint}`).not.toContain('hunter2pw');
        expect(hint).toBe(`${persistence.fix}, or set AUDIT_ALLOW_VOLATILE_REDIS=true to accept losing queued audit records`);
      }
    }
  });

  it('starts on a durable Redis, with the acknowledgement, or outside production', () => {
    expect(() => assertAuditQueueDurable(durable, production())).not.toThrow();
    expect(() => assertAuditQueueDurable(volatile, production({ AUDIT_ALLOW_VOLATILE_REDIS: 'true' }))).not.toThrow();
    expect(() => assertAuditQueueDurable(unknown, production({ AUDIT_ALLOW_VOLATILE_REDIS: 'true' }))).not.toThrow();
    expect(() => assertAuditQueueDurable(volatile, loadConfig({ NODE_ENV: 'development' }, '0'))).not.toThrow();
  });
});

describe('persistenceWarning', () => {
  it('says what production would do, or that the risk was accepted', () => {
    expect(persistenceWarning(volatile, loadConfig({}, '0'))).toMatch(
      /^AUDIT RECORDS AT RISK: Redis at localhost:6379 would lose queued audit records on a restart \(appendonly no, save ""\).*with NODE_ENV=production the gateway refuses to start/,
    );
    expect(persistenceWarning(volatile, production({ AUDIT_ALLOW_VOLATILE_REDIS: 'true' }))).toMatch(
      /accepted by AUDIT_ALLOW_VOLATILE_REDIS=true$/,
    );
    expect(persistenceWarning(unknown, loadConfig({}, '0'))).toMatch(
      /^AUDIT QUEUE DURABILITY UNKNOWN: cannot tell whether Redis at localhost:6379 keeps queued audit records across a restart/,
    );
  });
});
