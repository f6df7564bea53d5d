/**
 * `npm run bench:tracing`: what OpenTelemetry tracing costs, as CPU µs per routed message, with
 * tracing off (no endpoint), on with every trace sampled (`always_on`) and on with 1 % sampled
 * (`traceidratio` 0.01). Three gateway processes (AUTH_METHODS=none, one node each) are measured
 * alternately for BENCH_ROUNDS rounds (off, 100 %, 1 %, off, …) with the socket.io send/ack round
 * trips of bench/load.ts, and the median of each figure is reported. The spans go over OTLP/HTTP
 * (protobuf, the default encoding) to a sink in this process that answers 200 and counts bytes:
 * the cost measured is the gateway's (spans, context, batching, encoding, posting), not a
 * collector's. With taskset and two or more CPUs, the gateway under test runs on CPU 0 and the load
 * on CPU 1 (bench/run.ts does the same).
 *
 * Environment: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (default 3), BENCH_PAIRS (default
 * 20), BENCH_INFLIGHT (default 8), BENCH_PAYLOAD_BYTES (default 256).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { perMessage, sampleCpu, type CpuSample } from './cpu.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 20);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 8);
const payload = Number(process.env.BENCH_PAYLOAD_BYTES ?? 256);
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@localhost:5432/agent_gateway_bench_tracing';
const GENEROUS_LIMITS = '{"messages_per_second":1000000,"burst":1000000,"connects_per_minute_per_ip":1000000}';

const pin = existsSync('/usr/bin/taskset') && cpus().length >= 2;
function command(cpu: number, args: string[]): [string, string[]] {
  return pin ? ['/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
}

interface LoadFigures {
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  count: number;
}

/** An OTLP/HTTP sink: 200 to every export, counting requests and bytes. */
async function startSink(): Promise<{ url: string; stats: { requests: number; bytes: number }; close: () => Promise<void> }> {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (stats.bytes += chunk.length));
    request.on('end', () => {
      stats.requests++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function resetBenchDatabase(): Promise<void> {
  const url = new URL(BENCH_DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  await client.end();
}

/** Starts a gateway on CPU 0; resolves with its process and agent port once it logged `ready`. */
function startGateway(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const [file, args] = command(0, [here('../apps/gateway/src/main.js')]);
  const child = spawn(file, args, {
    env: {
      ...process.env,
      DATABASE_URL: BENCH_DATABASE_URL,
      PORT: '0',
      ADMIN_PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      AUTH_METHODS: 'none',
      RATE_LIMIT_DEFAULTS: GENEROUS_LIMITS,
      REDIS_KEY_PREFIX: `agwbench-tracing-${process.pid}-${Math.random().toString(36).slice(2, 6)}:`,
      ...env,
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
        try {
          const message = (JSON.parse(line) as { message?: { event?: string; agent_port?: number } }).message;
          if (message?.event === 'ready') resolve({ child, port: message.agent_port ?? 0 });
        } catch {
          // not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
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

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const running: ChildProcess[] = [];
const sink = await startSink();
try {
  await resetBenchDatabase();
  // Batching sized so that at 100 % nothing is dropped for want of room: every span is exported, and paid for.
  const traced = {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096',
  };
  const variants = [
    { name: 'off', env: {} },
    { name: 'sampled 100 %', env: { ...traced, OTEL_TRACES_SAMPLER: 'always_on' } },
    { name: 'sampled 1 %', env: { ...traced, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' } },
  ];
  // One after the other: they migrate the same (fresh) database.
  const gateways: { child: ChildProcess; port: number }[] = [];
  for (const variant of variants) {
    const gateway = await startGateway(variant.env);
    running.push(gateway.child);
    gateways.push(gateway);
  }
  const loadArgs = [String(pairs), String(inflight), String(seconds), String(payload)];
  const runs = variants.map(() => ({ load: [] as LoadFigures[], cpu: [] as CpuSample[], exportedBytes: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, gateway] of gateways.entries()) {
      const bytesBefore = sink.stats.bytes;
      const before = sampleCpu(gateway.child.pid!);
      const figures = await runLoad(['roundtrip', `http://127.0.0.1:${gateway.port}`, ...loadArgs]);
      // The last batch of this run goes out within OTEL_BSP_SCHEDULE_DELAY: count its CPU too.
      await new Promise((r) => setTimeout(r, 500));
      runs[i]!.cpu.push(perMessage(before, sampleCpu(gateway.child.pid!), figures.count));
      runs[i]!.load.push(figures);
      runs[i]!.exportedBytes.push(figures.count > 0 ? (sink.stats.bytes - bytesBefore) / figures.count : 0);
    }
  }
  const summary = variants.map((variant, i) => {
    const r = runs[i]!;
    const gatewayUs = median(r.cpu.map((c) => c.server));
    return {
      tracing: variant.name,
      gateway_cpu_us_per_message: gatewayUs,
      redis_cpu_us_per_message: median(r.cpu.map((c) => c.redis)),
      msgs_per_s: median(r.load.map((l) => l.msgs_per_s)),
      p50_ms: median(r.load.map((l) => l.p50_ms)),
      p99_ms: median(r.load.map((l) => l.p99_ms)),
      errors: r.load.reduce((n, l) => n + l.errors, 0),
      otlp_bytes_per_message: +median(r.exportedBytes).toFixed(1),
      rounds_gateway_cpu_us: r.cpu.map((c) => c.server),
    };
  });
  const off = summary[0]!.gateway_cpu_us_per_message;
  console.log(
    JSON.stringify({ config: { seconds, rounds, pairs, inflight, payload, pinned: pin, cpus: cpus().length }, tracing: summary }, null, 2),
  );
  console.log('\ntracing          gateway CPU µs/msg   vs off    msgs/s    p50 ms   p99 ms   OTLP bytes/msg');
  for (const s of summary) {
    const delta = s.tracing === 'off' ? '' : `+${(s.gateway_cpu_us_per_message - off).toFixed(1)}`;
    console.log(
      `${s.tracing.padEnd(16)} ${String(s.gateway_cpu_us_per_message).padStart(18)} ${delta.padStart(8)} ${String(s.msgs_per_s).padStart(9)} ${String(s.p50_ms).padStart(9)} ${String(s.p99_ms).padStart(8)} ${String(s.otlp_bytes_per_message).padStart(16)}`,
    );
  }
} finally {
  for (const child of running) child.kill('SIGTERM');
  await sink.close();
}
