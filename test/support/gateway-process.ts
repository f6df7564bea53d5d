import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEST_ADMIN_TOKEN, TEST_DATABASE_URL, TEST_REDIS_URL, uniquePrefix } from './env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The production entry points, as built by `npm run build`. */
export const GATEWAY_MAIN = `${ROOT}dist/apps/gateway/src/main.js`;
export const CLI_MAIN = `${ROOT}dist/apps/cli/src/main.js`;
export const AUDIT_WORKER_MAIN = `${ROOT}dist/apps/audit-worker/src/main.js`;
export const ADMIN_MAIN = `${ROOT}dist/apps/admin/src/main.js`;

/** A gateway process started for a test. */
export interface GatewayProcess {
  url: string;
  adminUrl: string;
  agentPort: number;
  adminPort: number;
  nodeId: string;
  env: Record<string, string>;
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  output: string[];
  /** Sends a signal and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment every test gateway gets, unless overridden. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    PORT: '0',
    ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniquePrefix(),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'log',
    // Many gateways run at once in the suite; keep them within Postgres's 100 connections.
    DATABASE_POOL_SIZE: '3',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    // Suites about something else must not trip the limits; the rate-limit suite sets its own.
    RATE_LIMIT_DEFAULTS: '{"messages_per_second":100000,"burst":100000,"connects_per_minute_per_ip":100000}',
    AGENT_CONNECTS_PER_MINUTE: '100000',
    ...overrides,
  };
}

/**
 * Starts the compiled gateway (`node dist/apps/gateway/src/main.js`, the production bootstrap), or
 * another entry point such as the audit worker, and resolves once it logged `ready`. Rejects with
 * its output if it exits first.
 */
export function startGateway(env: Record<string, string> = {}, main = GATEWAY_MAIN): Promise<GatewayProcess> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
  const fullEnv = testEnv(env);
  const child = spawn(process.execPath, [main], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not become ready in 20 s:\n${output.join('\n')}`));
    }, 20_000);
    const onLine = (line: string): void => {
      output.push(line);
      let parsed: { message?: { event?: string; agent_port?: number; agent_tls?: boolean; admin_port?: number; node_id?: string } };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        return;
      }
      const message = parsed.message;
      if (message?.event !== 'ready') return;
      clearTimeout(timer);
      const agentPort = message.agent_port ?? 0;
      const adminPort = message.admin_port ?? 0;
      resolve({
        url: `${message.agent_tls ? 'https' : 'http'}://${message.agent_tls ? 'localhost' : '127.0.0.1'}:${agentPort}`,
        adminUrl: `http://127.0.0.1:${adminPort}`,
        agentPort,
        adminPort,
        nodeId: message.node_id ?? '',
        env: fullEnv,
        child,
        output,
        exited,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill(signal);
          return (await exited).code;
        },
      });
    };
    lines(child.stdout, onLine);
    lines(child.stderr, onLine);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before ready:\n${output.join('\n')}`));
    });
  });
}

/** Runs the gateway (or another entry point) to completion, for start-up failures: exit code and output. */
export function runGatewayToExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
  main = GATEWAY_MAIN,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main], { env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
    }
  });
}
