import { describe, expect, it } from 'vitest';
import { persistenceFromConfig, persistenceFromInfo } from './redis-persistence.js';

describe('persistenceFromConfig', () => {
  it('counts only AOF with appendfsync everysec or always as durable', () => {
    expect(persistenceFromConfig('yes', 'everysec', '')).toMatchObject({ mode: 'aof_everysec', durable: true, fix: '' });
    expect(persistenceFromConfig('yes', 'always', '3600 1')).toMatchObject({ mode: 'aof_always', durable: true });
    expect(persistenceFromConfig('yes', 'no', '')).toMatchObject({
      mode: 'aof_no',
      durable: false,
      fix: expect.stringContaining('appendfsync everysec'),
    });
  });

  it('calls RDB snapshots without AOF volatile, saying what a restart loses', () => {
    const rdb = persistenceFromConfig('no', 'everysec', '3600 1 300 100 60 10000');
    expect(rdb).toMatchObject({ mode: 'volatile', durable: false, fix: expect.stringContaining('appendonly yes') });
    expect(rdb.settings).toBe(
      'appendonly no, save "3600 1 300 100 60 10000" (RDB snapshots only: a restart loses what was queued since the last one)',
    );
    expect(persistenceFromConfig('no', 'everysec', '')).toMatchObject({ mode: 'volatile', settings: 'appendonly no, save ""' });
  });

  it('is unknown, not durable, for values it does not recognise', () => {
    expect(persistenceFromConfig(undefined, undefined, undefined)).toMatchObject({ mode: 'unknown', durable: false });
    expect(persistenceFromConfig('yes', undefined, '')).toMatchObject({ mode: 'unknown', durable: false });
  });
});

describe('persistenceFromInfo (CONFIG refused)', () => {
  const info = (aof: string): string =>
    `# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:0\r\n${aof}\r\naof_rewrite_in_progress:0\r\n`;

  it('AOF off is volatile: known without the fsync policy', () => {
    expect(persistenceFromInfo(info('aof_enabled:0'), "ERR unknown command 'CONFIG'")).toMatchObject({
      mode: 'volatile',
      durable: false,
      settings: "CONFIG GET refused (ERR unknown command 'CONFIG'); INFO persistence: aof_enabled:0",
    });
  });

  it('AOF on is unknown: INFO does not tell the fsync policy, which may be `no`', () => {
    expect(persistenceFromInfo(info('aof_enabled:1'), 'NOPERM')).toMatchObject({
      mode: 'unknown',
      durable: false,
      settings: 'CONFIG GET refused (NOPERM); INFO persistence: aof_enabled:1, but not the fsync policy',
    });
  });

  it('an INFO without aof_enabled is unknown', () => {
    expect(persistenceFromInfo('# Persistence\r\nloading:0\r\n', 'ERR')).toMatchObject({ mode: 'unknown', durable: false });
  });
});
