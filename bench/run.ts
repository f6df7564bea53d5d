/**
 * `npm run bench`: the gateway against a bare socket.io relay, in the same run on the same machine.
 * Load comes from a separate process. Prints a table and a JSON summary.
 *
 * The two are measured alternately for BENCH_ROUNDS rounds (bare, gateway, bare, gateway, …) and
 * the median of each figure is reported, with the median of the per-round ratios: on a shared
 * 2-core machine the absolute numbers drift between runs, the ratio of neighbours much less.
 *
 * Environment: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (default 3), BENCH_PAIRS (default 20),
 * BENCH_INFLIGHT (default 8), BENCH_PAYLOAD_BYTES (default 256), BENCH_IDLE (default 1000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 20);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 8);
const payload = Number(process.env.BENCH_PAYLOAD_BYTES ?? 256);
const idleCount = Number(process.env.BENCH_IDLE ?? 1000);

// With taskset and two or more CPUs, the server under test runs on CPU 0 and the load generator on
// CPU 1, so that they do not take turns on the same core and the comparison is steadier.
const pin = existsSync('/usr/bin/taskset') && cpus().length >= 2;
function command(cpu: number, args: string[]): [string, string[]] {
  return pin ? ['/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
}

interface Started {
  child: ChildProcess;
  port: number;
}

function start(
  script: string,
  env: Record<string, string>,
  portOf: (line: Record<string, unknown>) => number | undefined,
): Promise<Started> {
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
          const port = portOf(JSON.parse(line) as Record<string, unknown>);
          if (port) resolve({ child, port });
        } catch {
          // not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

interface LoadFigures {
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  count: number;
}

function runLoad(args: string[]): Promise<LoadFigures> {
  const [file, argv] = command(1, [here('./load.js'), ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadFigures) : reject(new Error(`load exited ${code}`)),
    ),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function medianFigures(runs: LoadFigures[]): LoadFigures {
  return {
    msgs_per_s: median(runs.map((r) => r.msgs_per_s)),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    count: runs.reduce((sum, r) => sum + r.count, 0),
  };
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function idleRss(url: string, pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_500));
  const before = rssKb(pid);
  const child = spawn(process.execPath, [here('./load.js'), 'idle', url, String(idleCount)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 3_000));
  const after = rssKb(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return ((after - before) * 1024) / idleCount;
}

const stopAll: ChildProcess[] = [];
try {
  const gateway = await start(
    here('../apps/gateway/src/main.js'),
    {
      AUTH_METHODS: process.env.BENCH_AUTH_METHODS ?? 'none',
      PORT: '0',
      ADMIN_PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      REDIS_KEY_PREFIX: `agwbench-${process.pid}:`,
      MAX_CONNECTIONS: String(idleCount * 4),
    },
    (line) => {
      const message = line.message as { event?: string; agent_port?: number } | undefined;
      return message?.event === 'ready' ? message.agent_port : undefined;
    },
  );
  stopAll.push(gateway.child);
  const bare = await start(here('./bare-relay.js'), {}, (line) => (line.event === 'ready' ? (line.port as number) : undefined));
  stopAll.push(bare.child);
  const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  const bareUrl = `http://127.0.0.1:${bare.port}`;

  // Idle memory first, on fresh processes: after a load run, the heap shrinking under GC would
  // swamp the difference that 1,000 connections make.
  const gatewayRss = await idleRss(gatewayUrl, gateway.child.pid!);
  const bareRss = await idleRss(bareUrl, bare.child.pid!);
  const loadArgs = [String(pairs), String(inflight), String(seconds), String(payload)];
  const bareRuns: LoadFigures[] = [];
  const gatewayRuns: LoadFigures[] = [];
  for (let round = 0; round < rounds; round++) {
    bareRuns.push(await runLoad(['roundtrip', bareUrl, ...loadArgs]));
    gatewayRuns.push(await runLoad(['roundtrip', gatewayUrl, ...loadArgs]));
  }
  const bareRun = medianFigures(bareRuns);
  const gatewayRun = medianFigures(gatewayRuns);
  const ratios = gatewayRuns.map((g, i) => g.msgs_per_s / bareRuns[i].msgs_per_s);

  const summary = {
    setup: {
      pairs,
      inflight,
      seconds,
      payload_bytes: payload,
      idle_connections: idleCount,
      auth: process.env.BENCH_AUTH_METHODS ?? 'none',
      cpus: (await import('node:os')).cpus().length,
    },
    gateway: { ...gatewayRun, rss_bytes_per_idle_connection: Math.round(gatewayRss) },
    bare_relay: { ...bareRun, rss_bytes_per_idle_connection: Math.round(bareRss) },
    ratio_throughput_gateway_over_bare: +median(ratios).toFixed(3),
    ratio_per_round: ratios.map((r) => +r.toFixed(3)),
  };
  console.log('');
  console.log(`                      msgs/s    p50 ms   p99 ms   RSS/idle conn`);
  console.log(
    `gateway           ${String(summary.gateway.msgs_per_s).padStart(9)} ${String(summary.gateway.p50_ms).padStart(9)} ${String(summary.gateway.p99_ms).padStart(8)} ${(summary.gateway.rss_bytes_per_idle_connection / 1024).toFixed(1).padStart(10)} KB`,
  );
  console.log(
    `bare socket.io    ${String(summary.bare_relay.msgs_per_s).padStart(9)} ${String(summary.bare_relay.p50_ms).padStart(9)} ${String(summary.bare_relay.p99_ms).padStart(8)} ${(summary.bare_relay.rss_bytes_per_idle_connection / 1024).toFixed(1).padStart(10)} KB`,
  );
  console.log(
    `gateway / bare throughput: ${summary.ratio_throughput_gateway_over_bare} (median of rounds: ${summary.ratio_per_round.join(', ')})`,
  );
  console.log('');
  console.log(JSON.stringify(summary));
} finally {
  for (const child of stopAll) child.kill('SIGTERM');
}
