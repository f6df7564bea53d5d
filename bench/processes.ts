/**
 * Processes of the bench scripts: servers under test on CPU 0 and load generators on CPU 1 (with
 * taskset and two or more CPUs), a server's ready line, a load run's figures, the bench database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';

/** What a load run (bench/load.ts) prints last. */
export interface LoadFigures {
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  count: number;
}

export const pinned = existsSync('/usr/bin/taskset') && cpus().length >= 2;
// BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to the servers under test.
const serverNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The command running a Node script on `cpu` (0: the server under test, 1: the load). */
export function command(cpu: number, args: string[]): [string, string[]] {
  const node = cpu === 0 ? [...serverNodeArgs, ...args] : args;
  return pinned ? ['/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...node]] : [process.execPath, node];
}

/** Starts a server script on CPU 0 and resolves with its first JSON stdout line that `isReady` accepts. */
export function startServer(
  script: string,
  env: Record<string, string>,
  isReady: (line: Record<string, unknown>) => boolean,
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const [file, args] = command(0, [script]);
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (isReady(parsed)) resolve({ child, ready: parsed });
        } catch {
          // not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** Runs a load script on CPU 1 and resolves with the figures it printed last. */
export function runLoad<F = LoadFigures>(script: string, args: string[]): Promise<F> {
  const [file, argv] = command(1, [script, ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as F) : reject(new Error(`${script} exited ${code}`)),
    ),
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Drops the bench's own database (the gateway creates and migrates it again at start). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  await client.end();
}
