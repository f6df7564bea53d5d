/**
 * `npm run bench`: the gateway against a bare socket.io relay, in the same run on the same machine,
 * the gateway's plain WebSocket transport beside its socket.io transport (same agents, same
 * guards; on plain WebSocket `delivered` means written to the recipient's connection, as the seed's
 * protocol has no message ack), MCP `tools/call` round trips (bench/mcp-load.ts: a result, not only
 * an ack, per call), then connections per second per authentication method. Load comes from a separate process.
 * Prints a table and a JSON summary.
 *
 * Routing: the two servers are measured alternately for BENCH_ROUNDS rounds (bare, gateway, bare,
 * gateway, …) and the median of each figure is reported, with the median of the per-round ratios:
 * on a shared 2-core machine the absolute numbers drift between runs, the ratio of neighbours much
 * less. With taskset and two or more CPUs, the server under test runs on CPU 0 and the load
 * generator on CPU 1.
 *
 * Environment: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (default 3), BENCH_PAIRS (default 20),
 * BENCH_INFLIGHT (default 8), BENCH_PAYLOAD_BYTES (default 256), BENCH_IDLE (default 1000),
 * BENCH_CONNECT_CONCURRENCY (default 10), BENCH_AUTH=none to run the routing gateway without guards,
 * BENCH_NODE_ARGS (node flags for the servers under test, e.g. for --cpu-prof), BENCH_AUDIT_ROWS
 * (default 100000: the writer against COPY), BENCH_EXPORT_ROWS (default 1000000).
 *
 * Audit: each round also runs a second gateway with AUDIT_DURABLE_WAIT_MS=0 (the `delivered` ack
 * does not wait for the `message.routed` record to reach Redis), which prices that wait; then the
 * lag of every routed record (row written − event), the writer against a raw COPY, and a streamed
 * export. See bench/audit.ts.
 *
 * Memory: RSS before the first connection and per idle connection, on fresh processes in
 * BENCH_ROUNDS rounds (the median is reported); the RSS of an agent-only gateway
 * (ADMIN_ENABLED=false) and of a bare relay left idle through the routing rounds, soon after start
 * and at the end (once V8 has collected the boot's garbage). The writer against COPY alternates
 * for BENCH_ROUNDS rounds too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { benchA2A } from './a2a.js';
import { BENCH_ADMIN_TOKEN, adminCall } from './admin.js';
import { exportMillion, routingLag, writerAgainstCopyRounds } from './audit.js';
import { benchConnects, type ConnectFigures } from './connects.js';
import { perMessage, sampleCpu, type CpuSample } from './cpu.js';
import { command, dropDatabase, median, pinned, runLoad, startServer, type LoadFigures } from './processes.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 20);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 8);
const payload = Number(process.env.BENCH_PAYLOAD_BYTES ?? 256);
const idleCount = Number(process.env.BENCH_IDLE ?? 1000);
const connectConcurrency = Number(process.env.BENCH_CONNECT_CONCURRENCY ?? 10);
const auditRows = Number(process.env.BENCH_AUDIT_ROWS ?? 100_000);
const exportRows = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
// `token` (default): every guard on: API-token authentication, a stored policy evaluated on every
// send, rate limits counted on every event (set high enough never to refuse). `none`: no auth,
// default policy; for comparison.
const routingAuth = process.env.BENCH_AUTH === 'none' ? 'none' : 'token';

// Limits far above what the bench sends: the guards run on every event, none refuses.
const GENEROUS_LIMITS = '{"messages_per_second":1000000,"burst":1000000,"connects_per_minute_per_ip":1000000}';

/** The bench's own database, recreated at each run (the gateway creates and migrates it). */
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@localhost:5432/agent_gateway_bench';

async function startGateway(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; adminPort: number; nodeId: string; keyPrefix: string }> {
  const keyPrefix = `agwbench-${process.pid}-${Math.random().toString(36).slice(2, 6)}:`;
  const { child, ready } = await startServer(
    here('../apps/gateway/src/main.js'),
    {
      DATABASE_URL: BENCH_DATABASE_URL,
      PORT: '0',
      ADMIN_PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      REDIS_KEY_PREFIX: keyPrefix,
      ...env,
    },
    (line) => (line.message as { event?: string } | undefined)?.event === 'ready',
  );
  const message = ready.message as { agent_port: number; admin_port: number; node_id: string };
  return { child, port: message.agent_port, adminPort: message.admin_port, nodeId: message.node_id, keyPrefix };
}

function load(args: string[], script = './load.js'): Promise<LoadFigures> {
  return runLoad(here(script), args);
}

interface OpenLoopFigures extends LoadFigures {
  rate: number;
  p999_ms: number;
}

function runOpenLoop(args: string[]): Promise<OpenLoopFigures> {
  return runLoad<OpenLoopFigures>(here('./load.js'), args);
}

function medianOpenLoop(runs: OpenLoopFigures[]): OpenLoopFigures {
  return { ...medianFigures(runs), rate: median(runs.map((r) => r.rate)), p999_ms: median(runs.map((r) => r.p999_ms)) };
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

/**
 * The bench tenant for the routing run: 2 × pairs agents with API tokens, and a policy whose
 * rules the gateway evaluates on every send. Returns the credentials file for the load process.
 */
async function provisionRoutingAgents(adminUrl: string): Promise<string> {
  const tenant = `bench-routing-${process.pid}`;
  await adminCall(adminUrl, 'POST', '/admin/v1/tenants', { tenant_id: tenant, name: tenant });
  await adminCall(adminUrl, 'PUT', `/admin/v1/tenants/${tenant}/policy`, {
    rules: [
      {
        effect: 'allow',
        actions: ['send'],
        from: { agent_id: 'bench-*', capability: 'bench' },
        to: { agent_id: 'bench-*', capability: 'bench' },
      },
      { effect: 'deny', actions: ['send'], to: { agent_id: 'vault-*' } },
      { effect: 'deny', actions: ['send'], from: { capability: 'quarantined' } },
      { effect: 'allow', actions: ['publish', 'subscribe'], to: { topic: 'bench/*' } },
    ],
  });
  const credentials: { agentId: string; token: string }[] = [];
  for (let i = 0; i < pairs * 2; i++) {
    const agentId = `bench-${process.pid}-${i}`;
    await adminCall(adminUrl, 'POST', '/admin/v1/agents', { agent_id: agentId, tenant_id: tenant, capabilities: ['bench'] });
    credentials.push({ agentId, token: (await adminCall(adminUrl, 'POST', `/admin/v1/agents/${agentId}/tokens`, {})).token as string });
  }
  const file = join(tmpdir(), `agw-bench-${process.pid}-routing.json`);
  writeFileSync(file, JSON.stringify(credentials));
  return file;
}

/**
 * Bytes a server keeps in Redis under its key prefix (MEMORY USAGE of every key, SCAN by prefix:
 * other users of the same Redis do not count).
 */
async function redisBytes(redis: Redis, keyPrefix: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys++;
      bytes += (await redis.memory('USAGE', key)) ?? 0;
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

/** RSS of a fresh server before its first connection (KB). */
async function baseRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_500));
  return rssKb(pid);
}

/** RSS added per idle connection: `idleCount` connections held by another process. */
async function idleRss(url: string, pid: number, mode: 'idle' | 'idle-ws' = 'idle'): Promise<number> {
  const before = await baseRss(pid);
  const [file, argv] = command(1, [here('./load.js'), mode, url, String(idleCount)]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 3_000));
  const after = rssKb(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return ((after - before) * 1024) / idleCount;
}

const running: ChildProcess[] = [];

/** What one memory round measured on fresh processes: KB before the first connection, bytes per idle connection. */
interface MemoryRound {
  gateway_base_kb: number;
  bare_base_kb: number;
  gateway_bytes_per_connection: number;
  gateway_ws_bytes_per_connection: number;
  bare_bytes_per_connection: number;
}

/**
 * One memory round, on processes started for it and stopped after it: the RSS of a gateway and a
 * bare relay before their first connection, then per idle connection (socket.io on that gateway and
 * the relay, plain WebSocket on a second gateway that has seen no connection). Fresh processes
 * each round: after load, the heap shrinking under GC would swamp what 1,000 connections add.
 */
async function memoryRound(env: Record<string, string>): Promise<MemoryRound> {
  const started: ChildProcess[] = [];
  try {
    const gateway = await startGateway(env);
    started.push(gateway.child);
    const websocket = await startGateway(env);
    started.push(websocket.child);
    const bare = await startServer(here('./bare-relay.js'), {}, (line) => line.event === 'ready');
    started.push(bare.child);
    const gatewayBaseKb = await baseRss(gateway.child.pid!);
    const bareBaseKb = await baseRss(bare.child.pid!);
    return {
      gateway_base_kb: gatewayBaseKb,
      bare_base_kb: bareBaseKb,
      gateway_bytes_per_connection: await idleRss(`http://127.0.0.1:${gateway.port}`, gateway.child.pid!),
      bare_bytes_per_connection: await idleRss(`http://127.0.0.1:${bare.ready.port as number}`, bare.child.pid!),
      gateway_ws_bytes_per_connection: await idleRss(`http://127.0.0.1:${websocket.port}`, websocket.child.pid!, 'idle-ws'),
    };
  } finally {
    for (const child of started) child.kill('SIGTERM');
    await Promise.all(
      started.filter((child) => child.exitCode === null).map((child) => new Promise((resolve) => child.once('exit', resolve))),
    );
  }
}

try {
  await dropDatabase(BENCH_DATABASE_URL);
  const gatewayEnv = {
    // `none` too, for the idle connections of the memory measure (they need no provisioning).
    AUTH_METHODS: routingAuth === 'none' ? 'none' : 'token,none',
    MAX_CONNECTIONS: String(idleCount * 4),
    RATE_LIMIT_DEFAULTS: GENEROUS_LIMITS,
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
  };
  const gateway = await startGateway(gatewayEnv);
  running.push(gateway.child);
  // Base RSS of an agent-only node (ADMIN_ENABLED=false: no admin plane, OpenAPI or console loaded)
  // and of a second bare relay, both left idle: read soon after start and again after the routing
  // rounds, once V8 has collected the garbage of the boot (its memory reducer runs only after the
  // process has been idle for a while, tens of seconds).
  const agentOnly = await startGateway({ ADMIN_ENABLED: 'false', RATE_LIMIT_DEFAULTS: GENEROUS_LIMITS });
  running.push(agentOnly.child);
  const idleBare = await startServer(here('./bare-relay.js'), {}, (line) => line.event === 'ready');
  running.push(idleBare.child);
  const agentOnlyBaseKb = await baseRss(agentOnly.child.pid!);
  const idleBareBaseKb = rssKb(idleBare.child.pid!);
  const idleSince = Date.now();

  // Idle memory first, before any load, in rounds of fresh processes (the median is reported).
  const memoryRounds: MemoryRound[] = [];
  for (let round = 0; round < rounds; round++) memoryRounds.push(await memoryRound(gatewayEnv));
  const memory = (key: keyof MemoryRound): number => median(memoryRounds.map((r) => r[key]));
  const gatewayBaseKb = memory('gateway_base_kb');
  const bareBaseKb = memory('bare_base_kb');
  const gatewayRss = memory('gateway_bytes_per_connection');
  const bareRss = memory('bare_bytes_per_connection');
  const gatewayWsRss = memory('gateway_ws_bytes_per_connection');

  // The same gateway but `delivered` does not wait for the audit record to reach Redis.
  const noWait = await startGateway({
    AUTH_METHODS: routingAuth === 'none' ? 'none' : 'token,none',
    RATE_LIMIT_DEFAULTS: GENEROUS_LIMITS,
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    AUDIT_DURABLE_WAIT_MS: '0',
  });
  running.push(noWait.child);
  const bare = await startServer(here('./bare-relay.js'), {}, (line) => line.event === 'ready');
  running.push(bare.child);
  const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  const bareUrl = `http://127.0.0.1:${bare.ready.port as number}`;

  const credentialsFile = routingAuth === 'token' ? await provisionRoutingAgents(`http://127.0.0.1:${gateway.adminPort}`) : undefined;
  const loadArgs = [String(pairs), String(inflight), String(seconds), String(payload)];
  const gatewayArgs = credentialsFile ? [...loadArgs, credentialsFile] : loadArgs;
  const bareRuns: LoadFigures[] = [];
  // CPU µs per message of each round: the server process, every redis-server, every postgres.
  const bareCpu: CpuSample[] = [];
  const gatewayCpu: CpuSample[] = [];
  const gatewayRuns: LoadFigures[] = [];
  const noWaitRuns: LoadFigures[] = [];
  const websocketRuns: LoadFigures[] = [];
  const mcpRuns: LoadFigures[] = [];
  // One pair, one message in flight: the latency floor of each hop, closed loop.
  const onePairBare: LoadFigures[] = [];
  const onePairGateway: LoadFigures[] = [];
  // Open loop at half the gateway's saturation (its closed-loop msgs/s of the same round), on both.
  const openBare: OpenLoopFigures[] = [];
  const openGateway: OpenLoopFigures[] = [];
  // Bytes the gateway keeps in Redis per routed message, once the load has stopped.
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');
  const retained: { bytes_per_message: number; keys_after: number }[] = [];
  const noWaitUrl = `http://127.0.0.1:${noWait.port}`;
  for (let round = 0; round < rounds; round++) {
    let before = sampleCpu(bare.child.pid!);
    const bareRun = await load(['roundtrip', bareUrl, ...loadArgs]);
    bareCpu.push(perMessage(before, sampleCpu(bare.child.pid!), bareRun.count));
    bareRuns.push(bareRun);
    const redisBefore = await redisBytes(redis, gateway.keyPrefix);
    before = sampleCpu(gateway.child.pid!);
    const gatewayRun = await load(['roundtrip', gatewayUrl, ...gatewayArgs]);
    gatewayCpu.push(perMessage(before, sampleCpu(gateway.child.pid!), gatewayRun.count));
    gatewayRuns.push(gatewayRun);
    // What is left once every conversation is closed and the audit queue drained (a few seconds).
    await new Promise((r) => setTimeout(r, 3_000));
    const redisAfter = await redisBytes(redis, gateway.keyPrefix);
    // Every message of the run counts (warm-up included: they leave keys too), ~ count × (1 + 1 s / seconds).
    const routed = gatewayRun.count * (1 + 1 / seconds);
    retained.push({ bytes_per_message: +((redisAfter.bytes - redisBefore.bytes) / routed).toFixed(2), keys_after: redisAfter.keys });
    const rate = Math.max(1, Math.round(gatewayRun.msgs_per_s / 2));
    const openArgs = [String(pairs), String(rate), String(seconds), String(payload)];
    openBare.push(await runOpenLoop(['openloop', bareUrl, ...openArgs]));
    openGateway.push(await runOpenLoop(['openloop', gatewayUrl, ...openArgs, ...(credentialsFile ? [credentialsFile] : [])]));
    const onePairArgs = ['1', '1', String(seconds), String(payload)];
    onePairBare.push(await load(['roundtrip', bareUrl, ...onePairArgs]));
    onePairGateway.push(await load(['roundtrip', gatewayUrl, ...onePairArgs, ...(credentialsFile ? [credentialsFile] : [])]));
    noWaitRuns.push(await load(['roundtrip', noWaitUrl, ...gatewayArgs]));
    websocketRuns.push(await load(['roundtrip-ws', gatewayUrl, ...gatewayArgs]));
    // MCP tools/call round trips (POST /mcp → agent → result → tool result), same agents and guards.
    mcpRuns.push(await load([gatewayUrl, ...gatewayArgs], './mcp-load.js'));
  }
  bare.child.kill('SIGTERM');
  await redis.quit();
  const idleSeconds = Math.round((Date.now() - idleSince) / 1000);
  const agentOnlySettledKb = rssKb(agentOnly.child.pid!);
  const idleBareSettledKb = rssKb(idleBare.child.pid!);
  agentOnly.child.kill('SIGTERM');
  idleBare.child.kill('SIGTERM');

  // A2A SendMessage against socket.io request/result, same agent, same gateway.
  const a2a = await benchA2A({ gatewayUrl, adminUrl: `http://127.0.0.1:${gateway.adminPort}`, seconds, concurrency: inflight });

  // Audit: the lag of the records of those rounds, the writer against COPY, a streamed export.
  const db = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 2 });
  const lag = await routingLag(db, routingAuth === 'token' ? `bench-routing-${process.pid}` : 'default');
  const nodeNames = new Map([
    [gateway.nodeId, 'gateway'],
    [noWait.nodeId, 'gateway, no durable wait'],
  ]);
  noWait.child.kill('SIGTERM');
  const writes = await writerAgainstCopyRounds(
    {
      db,
      redisUrl: process.env.REDIS_URL ?? 'redis://localhost:6379',
      rows: auditRows,
      startWorker: async (keyPrefix) => {
        const worker = await startServer(
          here('../apps/audit-worker/src/main.js'),
          { DATABASE_URL: BENCH_DATABASE_URL, REDIS_KEY_PREFIX: keyPrefix, LOG_FORMAT: 'json' },
          (line) => (line.message as { event?: string } | undefined)?.event === 'ready',
        );
        running.push(worker.child);
        return () => worker.child.kill('SIGTERM');
      },
    },
    rounds,
  );
  const exported = await exportMillion({
    db,
    adminUrl: `http://127.0.0.1:${gateway.adminPort}`,
    adminToken: BENCH_ADMIN_TOKEN,
    pid: gateway.child.pid!,
    rows: exportRows,
  });
  await db.end();
  gateway.child.kill('SIGTERM');
  const bareRun = medianFigures(bareRuns);
  const gatewayRun = medianFigures(gatewayRuns);
  const noWaitRun = medianFigures(noWaitRuns);
  const websocketRun = medianFigures(websocketRuns);
  const mcpRun = medianFigures(mcpRuns);
  const onePair = { gateway: medianFigures(onePairGateway), bare_relay: medianFigures(onePairBare) };
  const onePairRatio = +median(onePairGateway.map((g, i) => g.msgs_per_s / (onePairBare[i]?.msgs_per_s ?? Number.NaN))).toFixed(3);
  const openLoop = { gateway: medianOpenLoop(openGateway), bare_relay: medianOpenLoop(openBare) };
  const redisRetained = {
    bytes_per_message: median(retained.map((r) => r.bytes_per_message)),
    keys_after: median(retained.map((r) => r.keys_after)),
  };
  const transportRatios = websocketRuns.map((w, i) => w.msgs_per_s / (gatewayRuns[i]?.msgs_per_s ?? Number.NaN));
  const waitRatios = gatewayRuns.map((g, i) => g.msgs_per_s / (noWaitRuns[i]?.msgs_per_s ?? Number.NaN));
  const ratios = gatewayRuns.map((g, i) => g.msgs_per_s / (bareRuns[i]?.msgs_per_s ?? Number.NaN));

  const connects: ConnectFigures[] = await benchConnects({
    startGateway: async (env) => {
      const started = await startGateway(env);
      running.push(started.child);
      return { port: started.port, adminPort: started.adminPort, pid: started.child.pid!, stop: () => started.child.kill('SIGTERM') };
    },
    loadCommand: (args) => command(1, args),
    concurrency: connectConcurrency,
    seconds,
  });

  const medianCpu = (samples: CpuSample[]): CpuSample & { total: number } => {
    const m = {
      server: median(samples.map((s) => s.server)),
      redis: median(samples.map((s) => s.redis)),
      postgres: median(samples.map((s) => s.postgres)),
    };
    return { ...m, total: +(m.server + m.redis + m.postgres).toFixed(1) };
  };
  const cpu = { gateway: medianCpu(gatewayCpu), bare_relay: medianCpu(bareCpu) };
  const cpuRatio = +(cpu.gateway.total / cpu.bare_relay.total).toFixed(2);
  const summary = {
    setup: {
      rounds,
      pairs,
      inflight,
      seconds,
      payload_bytes: payload,
      idle_connections: idleCount,
      routing_guards: routingAuth === 'token' ? 'token auth + policy + rate limits' : 'none',
      connect_concurrency: connectConcurrency,
      cpus: cpus().length,
      pinned,
    },
    gateway: {
      ...gatewayRun,
      rss_bytes_per_idle_connection: Math.round(gatewayRss),
      rss_mb_before_first_connection: +(gatewayBaseKb / 1024).toFixed(1),
    },
    bare_relay: {
      ...bareRun,
      rss_bytes_per_idle_connection: Math.round(bareRss),
      rss_mb_before_first_connection: +(bareBaseKb / 1024).toFixed(1),
    },
    memory_rounds: memoryRounds,
    rss_mb_idle_processes: {
      idle_seconds: idleSeconds,
      agent_only_gateway: { early: +(agentOnlyBaseKb / 1024).toFixed(1), settled: +(agentOnlySettledKb / 1024).toFixed(1) },
      bare_relay: { early: +(idleBareBaseKb / 1024).toFixed(1), settled: +(idleBareSettledKb / 1024).toFixed(1) },
    },
    one_pair: onePair,
    ratio_one_pair_gateway_over_bare: onePairRatio,
    open_loop_half_saturation: openLoop,
    redis_retained: redisRetained,
    ratio_throughput_gateway_over_bare: +median(ratios).toFixed(3),
    cpu_us_per_message: cpu,
    ratio_cpu_gateway_over_bare: cpuRatio,
    ratio_per_round: ratios.map((r) => +r.toFixed(3)),
    gateway_plain_websocket: { ...websocketRun, rss_bytes_per_idle_connection: Math.round(gatewayWsRss) },
    ratio_websocket_over_socketio: +median(transportRatios).toFixed(3),
    gateway_mcp_tools_call: {
      calls_per_s: mcpRun.msgs_per_s,
      p50_ms: mcpRun.p50_ms,
      p99_ms: mcpRun.p99_ms,
      errors: mcpRun.errors,
      count: mcpRun.count,
    },
    gateway_no_durable_wait: noWaitRun,
    ratio_durable_wait_over_no_wait: +median(waitRatios).toFixed(3),
    a2a,
    ratio_a2a_over_socketio_request: +(a2a.a2a_send_message.requests_per_s / a2a.socketio_request_result.requests_per_s).toFixed(3),
    audit_lag: lag.map((l) => ({ ...l, gateway: nodeNames.get(l.node_id) ?? l.node_id })),
    audit_writes: writes,
    audit_export: exported,
    connects,
  };
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
  console.log('');
  console.log('routing (send → recipient ack → delivered)   msgs/s    p50 ms   p99 ms   RSS/idle conn');
  console.log(
    `gateway, socket.io                         ${String(gatewayRun.msgs_per_s).padStart(9)} ${String(gatewayRun.p50_ms).padStart(9)} ${String(gatewayRun.p99_ms).padStart(8)} ${kb(gatewayRss).padStart(13)}`,
  );
  console.log(
    `bare socket.io relay                       ${String(bareRun.msgs_per_s).padStart(9)} ${String(bareRun.p50_ms).padStart(9)} ${String(bareRun.p99_ms).padStart(8)} ${kb(bareRss).padStart(13)}`,
  );
  console.log(
    `gateway, plain WebSocket (/gateway/connect) ${String(websocketRun.msgs_per_s).padStart(9)} ${String(websocketRun.p50_ms).padStart(9)} ${String(websocketRun.p99_ms).padStart(8)} ${kb(gatewayWsRss).padStart(13)}`,
  );
  console.log(
    `plain WebSocket / socket.io throughput on the gateway: ${summary.ratio_websocket_over_socketio} (rounds: ${transportRatios.map((r) => r.toFixed(3)).join(', ')})`,
  );
  console.log(
    `MCP tools/call round trip (POST /mcp → result) ${String(mcpRun.msgs_per_s).padStart(6)} ${String(mcpRun.p50_ms).padStart(9)} ${String(mcpRun.p99_ms).padStart(8)}   (calls/s; the send's result, not only its ack)`,
  );
  console.log(
    `gateway / bare throughput: ${summary.ratio_throughput_gateway_over_bare} (median of rounds: ${summary.ratio_per_round.join(', ')})`,
  );
  console.log(
    `CPU µs per routed message (median of rounds, /proc utime+stime): gateway ${cpu.gateway.server} + Redis ${cpu.gateway.redis} + Postgres ${cpu.gateway.postgres} = ${cpu.gateway.total}; bare relay ${cpu.bare_relay.total}; ratio ${cpuRatio}`,
  );
  console.log(
    `one pair, one in flight (closed loop): gateway ${onePair.gateway.msgs_per_s} msgs/s p50 ${onePair.gateway.p50_ms} ms; bare ${onePair.bare_relay.msgs_per_s} msgs/s p50 ${onePair.bare_relay.p50_ms} ms; ratio ${onePairRatio}`,
  );
  console.log(
    `open loop at ${openLoop.gateway.rate} msgs/s (half the gateway's saturation), p50 / p99 / p99.9 ms: gateway ${openLoop.gateway.p50_ms} / ${openLoop.gateway.p99_ms} / ${openLoop.gateway.p999_ms} (errors ${openLoop.gateway.errors}); bare ${openLoop.bare_relay.p50_ms} / ${openLoop.bare_relay.p99_ms} / ${openLoop.bare_relay.p999_ms} (errors ${openLoop.bare_relay.errors})`,
  );
  console.log(
    `RSS before the first connection: gateway ${(gatewayBaseKb / 1024).toFixed(1)} MB, bare relay ${(bareBaseKb / 1024).toFixed(1)} MB (median of ${rounds} fresh processes each)`,
  );
  console.log(
    `RSS per idle connection, per round (socket.io / plain WebSocket / bare relay): ${memoryRounds.map((r) => `${kb(r.gateway_bytes_per_connection)} / ${kb(r.gateway_ws_bytes_per_connection)} / ${kb(r.bare_bytes_per_connection)}`).join('; ')}`,
  );
  const idleRssOf = (f: { early: number; settled: number }): string => `${f.early} MB, after ${idleSeconds} s idle ${f.settled} MB`;
  console.log(
    `RSS of idle processes: agent-only gateway (ADMIN_ENABLED=false) ${idleRssOf(summary.rss_mb_idle_processes.agent_only_gateway)}; bare relay ${idleRssOf(summary.rss_mb_idle_processes.bare_relay)}`,
  );
  console.log(
    `Redis bytes kept per routed message 3 s after the load: ${redisRetained.bytes_per_message} (keys under the gateway's prefix: ${redisRetained.keys_after}); bare relay 0`,
  );
  console.log(
    `gateway, delivered not waiting for the audit record ${String(noWaitRun.msgs_per_s).padStart(6)} ${String(noWaitRun.p50_ms).padStart(9)} ${String(noWaitRun.p99_ms).padStart(8)}`,
  );
  console.log(
    `durable wait / no wait throughput: ${summary.ratio_durable_wait_over_no_wait} (rounds: ${waitRatios.map((r) => r.toFixed(3)).join(', ')})`,
  );
  console.log('');
  console.log(`request → result, ${inflight} in flight, load in the bench process   requests/s    p50 ms   p99 ms   errors`);
  for (const [name, f] of [
    ['A2A SendMessage (@a2a-js/sdk client)', a2a.a2a_send_message],
    ['socket.io send with expect_result → result', a2a.socketio_request_result],
  ] as const) {
    const figures = [f.requests_per_s, f.p50_ms, f.p99_ms, f.errors].map((v, i) => String(v).padStart(i === 0 ? 12 : 9));
    console.log(`${name.padEnd(63)}${figures.join(' ')}`);
  }
  console.log(`A2A / socket.io request throughput: ${summary.ratio_a2a_over_socketio_request}`);
  console.log('');
  console.log('audit lag under the routing load (row written − event)   records   p50 ms   p99 ms   max ms   drain ms');
  for (const l of summary.audit_lag) {
    const figures = [l.records, l.p50_ms, l.p99_ms, l.max_ms, l.drain_ms].map((v, i) => String(v).padStart(i === 0 ? 9 : 8));
    console.log(`${l.gateway.padEnd(55)}${figures.join(' ')}`);
  }
  console.log(
    `audit writer ${writes.writer_rows_per_s} rows/s vs raw COPY ${writes.copy_rows_per_s} rows/s into audit_records (${writes.rows} rows in ${rounds} rounds): ratio ${writes.ratio_writer_over_copy} (rounds: ${writes.per_round.map((r) => `${r.writer_rows_per_s} ÷ ${r.copy_rows_per_s} = ${r.ratio_writer_over_copy}`).join(', ')})`,
  );
  console.log(
    `export of ${exported.rows} rows (${exported.mb} MB NDJSON): ${exported.rows_per_s} rows/s; gateway RSS ${exported.rss_before_mb} → peak ${exported.rss_peak_mb} MB, heap used ${exported.heap_used_before_mb} → peak ${exported.heap_used_peak_mb} MB`,
  );
  console.log('');
  console.log(`connects over TLS (${connectConcurrency} at a time)        connects/s    p50 ms   p99 ms   errors   gateway CPU`);
  for (const c of connects) {
    const figures = [
      String(c.connects_per_s).padStart(9),
      String(c.p50_ms).padStart(9),
      String(c.p99_ms).padStart(8),
      String(c.errors).padStart(8),
      `${c.gateway_cpu_pct}%`.padStart(12),
    ];
    console.log(`${c.method.padEnd(43)}${figures.join(' ')}`);
  }
  console.log('');
  console.log(JSON.stringify(summary));
} finally {
  // Signal each server once: a second SIGTERM would cut its graceful shutdown short.
  for (const child of running) if (!child.killed) child.kill('SIGTERM');
}
