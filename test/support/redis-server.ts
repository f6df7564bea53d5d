import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

/** A private redis-server for tests that stop and restart Redis without disturbing the others. */
export interface TestRedis {
  url: string;
  port: number;
  /** Its working directory (AOF and RDB files), private to it. */
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** No persistence at all: what the shared test Redis runs with. */
export const VOLATILE_REDIS = ['--save', '', '--appendonly', 'no'];
/** The recommended settings for the audit queue. */
export const AOF_EVERYSEC_REDIS = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];

/**
 * Starts a redis-server on a free port, in a temporary directory, with `args` after the port (the
 * persistence settings, `--rename-command`…); by default without persistence.
 */
export async function startTestRedis(args: string[] = VOLATILE_REDIS): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'agw-redis-'));
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`redis-server on ${port} did not start`);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGKILL');
    await new Promise((resolve) => running.once('exit', resolve));
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
