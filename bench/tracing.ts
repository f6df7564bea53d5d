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
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { perMessage, sampleCpu, type CpuSample } from './cpu.js';
import { dropDatabase, median, pinned, runLoad, startServer, type LoadFigures } from './processes.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 20);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 8);
const payload = Number(process.env.BENCH_PAYLOAD_BYTES ?? 256);
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@localhost:5432/agent_gateway_bench_tracing';
const GENEROUS_LIMITS = '{"messages_per_second":1000000,"burst":1000000,"connects_per_minute_per_ip":1000000}';

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

/** Starts a gateway on CPU 0; resolves with its process and agent port once it logged `ready`. */
async function startGateway(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const { child, ready } = await startServer(
    here('../apps/gateway/src/main.js'),
    {
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
    (line) => (line.message as { event?: string } | undefined)?.event === 'ready',
  );
  return { child, port: (ready.message as { agent_port: number }).agent_port };
}

const running: ChildProcess[] = [];
const sink = await startSink();
try {
  await dropDatabase(BENCH_DATABASE_URL);
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
      const figures = await runLoad(here('./load.js'), ['roundtrip', `http://127.0.0.1:${gateway.port}`, ...loadArgs]);
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
    JSON.stringify({ config: { seconds, rounds, pairs, inflight, payload, pinned, cpus: cpus().length }, tracing: summary }, null, 2),
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
