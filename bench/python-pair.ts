/**
 * `npm run bench:python`: the round trip of one pair of agents on the Python SDK (clients/python,
 * plain WebSocket) next to one pair on the Node SDK (libs/client, socket.io), against the same
 * gateway in the same run. Closed loop: a requester awaits each result before the next
 * `request`; requester and responder of a pair share one process (Python: bench/python_pair.py;
 * Node: this process), the gateway is its own. The two are measured alternately for BENCH_ROUNDS
 * rounds and the median of each figure is printed, as a table and a JSON summary.
 *
 * Environment: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (default 3), BENCH_PAYLOAD_BYTES
 * (default 64), BENCH_DATABASE_URL (default agent_gateway_bench_python), PYTHON (default Debian's).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GatewayClient } from '#libs/client';
import { BENCH_ADMIN_TOKEN, adminCall } from './admin.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const payloadBytes = Number(process.env.BENCH_PAYLOAD_BYTES ?? 64);
const warmupS = 1;
const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@localhost:5432/agent_gateway_bench_python';

interface PairFigures {
  count: number;
  errors: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

/** Starts the compiled gateway and resolves with its agent and admin URLs once it logged `ready`. */
function startGateway(): Promise<{ stop: () => void; url: string; adminUrl: string }> {
  const child = spawn(process.execPath, [here('../apps/gateway/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      ADMIN_PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      REDIS_KEY_PREFIX: `agwbench-py-${process.pid}:`,
      RATE_LIMIT_DEFAULTS: '{"messages_per_second":1000000,"burst":1000000,"connects_per_minute_per_ip":1000000}',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        let message: { event?: string; agent_port?: number; admin_port?: number } | undefined;
        try {
          message = (JSON.parse(line) as { message?: typeof message }).message;
        } catch {
          continue;
        }
        if (message?.event === 'ready')
          resolve({
            stop: () => child.kill('SIGTERM'),
            url: `http://127.0.0.1:${message.agent_port}`,
            adminUrl: `http://127.0.0.1:${message.admin_port}`,
          });
      }
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}`)));
  });
}

async function provision(adminUrl: string, tenant: string, name: string): Promise<{ id: string; token: string }> {
  const id = `${tenant}-${name}`;
  await adminCall(adminUrl, 'POST', '/admin/v1/agents', { agent_id: id, tenant_id: tenant });
  return { id, token: (await adminCall(adminUrl, 'POST', `/admin/v1/agents/${id}/tokens`, {})).token as string };
}

/** The p-th percentile of sorted latencies in ms, to the microsecond. */
function percentileMs(sorted: number[], p: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 1000) / 1000 : 0;
}

/** The Node SDK pair, closed loop, in this process. */
async function nodePair(
  url: string,
  requester: { id: string; token: string },
  responder: { id: string; token: string },
): Promise<PairFigures> {
  const answer = new GatewayClient({ url, agentId: responder.id, token: responder.token }).onMessage((m) => m.content[0]);
  const ask = new GatewayClient({ url, agentId: requester.id, token: requester.token });
  await Promise.all([answer.connect(), ask.connect()]);
  const text = 'x'.repeat(payloadBytes);
  const latencies: number[] = [];
  let errors = 0;
  const measuringFrom = performance.now() + warmupS * 1000;
  const end = measuringFrom + seconds * 1000;
  for (let now = performance.now(); now < end; now = performance.now()) {
    const result = await ask.request(responder.id, text, { timeoutMs: 10_000 }).catch(() => null);
    if (!result?.success) errors++;
    else if (now >= measuringFrom) latencies.push(performance.now() - now);
  }
  const elapsedS = (performance.now() - measuringFrom) / 1000;
  await Promise.all([ask.close(), answer.close()]);
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    req_per_s: Math.round((latencies.length / elapsedS) * 10) / 10,
    p50_ms: percentileMs(latencies, 0.5),
    p99_ms: percentileMs(latencies, 0.99),
  };
}

/** The Python SDK pair, closed loop, in a Python process. */
function pythonPair(url: string, requester: { id: string; token: string }, responder: { id: string; token: string }): Promise<PairFigures> {
  const child = spawn(python, [here('../../bench/python_pair.py')], {
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: here('../../clients/python/src'),
      GATEWAY_URL: url,
      REQ_ID: requester.id,
      REQ_TOKEN: requester.token,
      RESP_ID: responder.id,
      RESP_TOKEN: responder.token,
      BENCH_SECONDS: String(seconds),
      BENCH_WARMUP_S: String(warmupS),
      BENCH_PAYLOAD_BYTES: String(payloadBytes),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as PairFigures) : reject(new Error(`python_pair.py exited ${code}`)),
    ),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function medianFigures(runs: PairFigures[]): PairFigures {
  return {
    count: runs.reduce((sum, r) => sum + r.count, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    req_per_s: median(runs.map((r) => r.req_per_s)),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
  };
}

const gateway = await startGateway();
try {
  const tenant = `bench-py-${process.pid}`;
  await adminCall(gateway.adminUrl, 'POST', '/admin/v1/tenants', { tenant_id: tenant, name: tenant });
  const agents = {
    pyRequester: await provision(gateway.adminUrl, tenant, 'py-req'),
    pyResponder: await provision(gateway.adminUrl, tenant, 'py-resp'),
    nodeRequester: await provision(gateway.adminUrl, tenant, 'node-req'),
    nodeResponder: await provision(gateway.adminUrl, tenant, 'node-resp'),
  };
  const runs = { node: [] as PairFigures[], python: [] as PairFigures[] };
  for (let round = 0; round < rounds; round++) {
    runs.node.push(await nodePair(gateway.url, agents.nodeRequester, agents.nodeResponder));
    runs.python.push(await pythonPair(gateway.url, agents.pyRequester, agents.pyResponder));
  }
  const summary = {
    seconds,
    rounds,
    payload_bytes: payloadBytes,
    node_sdk: medianFigures(runs.node),
    python_sdk: medianFigures(runs.python),
  };
  console.log('one pair, closed loop (median of rounds)');
  console.log('sdk (transport)            req/s     p50 ms   p99 ms   errors');
  for (const [name, figures] of [
    ['Node SDK (socket.io)', summary.node_sdk],
    ['Python SDK (plain ws)', summary.python_sdk],
  ] as const) {
    console.log(
      `${name.padEnd(26)} ${String(figures.req_per_s).padStart(8)} ${String(figures.p50_ms).padStart(9)} ${String(figures.p99_ms).padStart(8)} ${String(figures.errors).padStart(8)}`,
    );
  }
  console.log(JSON.stringify(summary));
} finally {
  gateway.stop();
}
