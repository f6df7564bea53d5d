/**
 * `npm run soak -- --minutes N` (not in CI): three gateway nodes for N minutes (default 30) on a
 * private Redis (AOF, `appendfsync everysec`) and a private Postgres, both started here in a
 * temporary directory on ports of their own, with agents that connect, talk (`send` with acks,
 * request/result), subscribe and publish, and disconnect and reconnect in churn. Faults are injected
 * on a schedule, one at a time: a node SIGKILLed and started again, Redis paused (SIGSTOP/SIGCONT),
 * Postgres stopped (`pg_ctl stop -m fast`) and started again.
 *
 * Every `--report-s` seconds (default 30) it prints the sends acknowledged and failed (by code), the
 * requests answered, the publishes, the RSS of each node, Redis's `used_memory` and the audit queue
 * depth. At the end, after the queue drained: every acknowledged `send` against its
 * `message.routed` row (lost: acknowledged without a row; duplicated: a row counted more than
 * once), the chain check (`GET /admin/v1/audit/verify`), the error counts and the faults with their
 * times.
 *
 * Options: --minutes N (default 30), --agents N (default 30), --rate N (operations per second,
 * default 150), --report-s N (default 30), --port-base P (default 7200: Redis P+1, Postgres P+2,
 * node i agent plane P+10+2i and admin plane P+11+2i), --keep (keep the temporary directory with the
 * node, Redis and Postgres logs). Needs `redis-server` and Postgres's `initdb`/`pg_ctl`
 * (/usr/lib/postgresql/<version>/bin); run as root, Postgres runs as the `postgres` user.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';

const { values: options } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    agents: { type: 'string', default: '30' },
    rate: { type: 'string', default: '150' },
    'report-s': { type: 'string', default: '30' },
    'port-base': { type: 'string', default: '7200' },
    keep: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(options.minutes);
const AGENTS = Number(options.agents);
const RATE = Number(options.rate);
const REPORT_S = Number(options['report-s']);
const PORT_BASE = Number(options['port-base']);
for (const [name, value] of Object.entries({ MINUTES, AGENTS, RATE, REPORT_S, PORT_BASE }))
  if (!Number.isFinite(value) || value <= 0) throw new Error(`bad --${name.toLowerCase()}`);
if (AGENTS < 2) throw new Error('--agents must be at least 2');

const REDIS_PORT = PORT_BASE + 1;
const PG_PORT = PORT_BASE + 2;
const NODES = 3;
const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef0123456789';
const KEY_PREFIX = 'agwsoak:';
const TENANT = 'soak';
const GATEWAY_MAIN = fileURLToPath(new URL('../apps/gateway/src/main.js', import.meta.url));
const DIR = mkdtempSync(join(tmpdir(), 'agw-soak-'));
const DATABASE_URL = `postgresql://postgres@127.0.0.1:${PG_PORT}/agw_soak`;
const START = Date.now();

const elapsed = (): string => `${((Date.now() - START) / 1000).toFixed(0).padStart(5)} s`;
const log = (line: string): void => console.log(`[${elapsed()}] ${line}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const randomBetween = (a: number, b: number): number => a + Math.random() * (b - a);

// ---------------------------------------------------------------- private Redis and Postgres

const children = new Set<ChildProcess>();

function startRedis(): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--dir', DIR, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    { stdio: ['ignore', openSync(join(DIR, 'redis.log'), 'a'), 'inherit'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Postgres's binaries: the newest /usr/lib/postgresql/<version>/bin. */
function pgBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no Postgres under /usr/lib/postgresql');
  return join(root, versions[0], 'bin', tool);
}

const PG_DATA = join(DIR, 'pgdata');
const asPostgres = (tool: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', pgBin(tool), ...args]] : [pgBin(tool), args];

function pgCtl(args: string[]): void {
  const [file, argv] = asPostgres('pg_ctl', ['-D', PG_DATA, ...args]);
  execFileSync(file, argv, { stdio: 'ignore' });
}

function initPostgres(): void {
  if (process.getuid?.() === 0) chownSync(DIR, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  const [file, argv] = asPostgres('initdb', ['-D', PG_DATA, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  execFileSync(file, argv, { stdio: 'ignore' });
}

const startPostgres = (): void =>
  pgCtl([
    '-w',
    '-l',
    join(DIR, 'postgres.log'),
    '-o',
    `-p ${PG_PORT} -k ${DIR} -c listen_addresses=127.0.0.1 -c max_connections=100`,
    'start',
  ]);
const stopPostgres = (): void => pgCtl(['-w', '-m', 'fast', 'stop']);

// ---------------------------------------------------------------- gateway nodes

interface Node {
  index: number;
  agentPort: number;
  adminPort: number;
  child: ChildProcess | null;
  up: boolean;
  starts: number;
}

const nodes: Node[] = Array.from({ length: NODES }, (_, i) => ({
  index: i,
  agentPort: PORT_BASE + 10 + 2 * i,
  adminPort: PORT_BASE + 11 + 2 * i,
  child: null,
  up: false,
  starts: 0,
}));

function startNode(node: Node): Promise<void> {
  const out = createWriteStream(join(DIR, `node-${node.index + 1}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      NODE_ID: `soak-${node.index + 1}`,
      HOST: '127.0.0.1',
      PORT: String(node.agentPort),
      ADMIN_PORT: String(node.adminPort),
      DATABASE_URL,
      DATABASE_POOL_SIZE: '5',
      REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}`,
      REDIS_KEY_PREFIX: KEY_PREFIX,
      ADMIN_TOKEN,
      AUTH_METHODS: 'token',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      RATE_LIMIT_DEFAULTS: '{"messages_per_second":100000,"burst":100000,"connects_per_minute_per_ip":100000}',
      AGENT_CONNECTS_PER_MINUTE: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  node.child = child;
  node.starts++;
  children.add(child);
  child.stderr.pipe(out);
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`node ${node.index + 1} not ready in 60 s (see ${DIR})`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out.write(chunk);
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (!node.up && line.includes('"event":"ready"')) {
          node.up = true;
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      node.up = false;
      clearTimeout(timer);
      if (!stopping && signal !== 'SIGKILL') log(`node ${node.index + 1} exited (${code ?? signal})`);
      reject(new Error(`node ${node.index + 1} exited (${code ?? signal})`));
    });
  });
}

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const node = nodes.find((n) => n.up) ?? nodes[0]!;
  const response = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

// ---------------------------------------------------------------- agents and traffic

const counts = {
  sendAcked: 0,
  requestsAnswered: 0,
  requestsTimedOut: 0,
  published: 0,
  topicReceived: 0,
  messagesReceived: 0,
  connects: 0,
  connectFailures: 0,
  churnDisconnects: 0,
  droppedDisconnects: 0,
};
/** Failures by code: the gateway's `error.code`, or `NO_ACK` (no answer in 20 s: the connection went away). */
const failures = new Map<string, number>();
const fail = (op: string, code: string): void => {
  const key = `${op}:${code}`;
  failures.set(key, (failures.get(key) ?? 0) + 1);
};
const acked: string[] = [];
let inflight = 0;
let stopping = false;
let trafficOn = true;

class SoakAgent {
  socket: Socket | null = null;
  ready = false;
  private readonly pendingResults = new Map<string, (ok: boolean) => void>();
  private churnTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly agentId: string,
    private readonly token: string,
    private home: number,
  ) {}

  get topic(): string {
    return `soak/t${Number(this.agentId.split('-').pop()) % 5}`;
  }

  connect(): void {
    if (stopping) return;
    const up = nodes.filter((n) => n.up);
    const node = nodes[this.home]!.up ? nodes[this.home]! : up[Math.floor(Math.random() * up.length)];
    if (!node) {
      setTimeout(() => this.connect(), 1_000);
      return;
    }
    const socket = io(`http://127.0.0.1:${node.agentPort}/gateway`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
      auth: { agent_id: this.agentId, token: this.token },
    });
    this.socket = socket;
    socket.on('message', (message: { conversation_id: string; metadata?: { soak_request?: boolean } }, ack?: (r: unknown) => void) => {
      counts.messagesReceived++;
      ack?.({ status: 'received' });
      if (message.metadata?.soak_request)
        socket
          .timeout(20_000)
          .emitWithAck('result', { conversation_id: message.conversation_id, success: true, result: { echo: true } })
          .catch(() => undefined);
    });
    socket.on('result', (result: { conversation_id: string; success: boolean; error?: { code?: string } }) => {
      const done = this.pendingResults.get(result.conversation_id);
      if (!done) return;
      this.pendingResults.delete(result.conversation_id);
      if (result.success) done(true);
      else {
        fail('request', result.error?.code ?? 'FAILED');
        done(false);
      }
    });
    socket.on('topic_message', () => counts.topicReceived++);
    socket.once('session', () => {
      counts.connects++;
      this.ready = true;
      socket
        .timeout(20_000)
        .emitWithAck('subscribe', { topic: this.topic })
        .catch(() => fail('subscribe', 'NO_ACK'));
      // Churn: this agent leaves on its own after 45 to 120 s, and comes back 1 to 3 s later.
      this.churnTimer = setTimeout(
        () => {
          counts.churnDisconnects++;
          this.drop();
          setTimeout(() => this.connect(), randomBetween(1_000, 3_000));
        },
        randomBetween(45_000, 120_000),
      );
    });
    socket.once('connect_error', () => {
      counts.connectFailures++;
      this.drop();
      setTimeout(() => this.connect(), randomBetween(500, 2_000));
    });
    socket.once('disconnect', (reason) => {
      if (socket !== this.socket) return;
      // Not our own close: the node went away (SIGKILL) or dropped us.
      if (reason !== 'io client disconnect') {
        counts.droppedDisconnects++;
        this.drop();
        setTimeout(() => this.connect(), randomBetween(500, 2_000));
      }
    });
  }

  drop(): void {
    this.ready = false;
    if (this.churnTimer) clearTimeout(this.churnTimer);
    this.churnTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.removeAllListeners();
    socket?.close();
    // Results still awaited are lost with the connection (the gateway routes a result to a live session).
    for (const [, done] of this.pendingResults) {
      fail('request', 'SENDER_LEFT');
      done(false);
    }
    this.pendingResults.clear();
  }

  async send(to: string, request: boolean): Promise<void> {
    const socket = this.socket!;
    // The conversation is named here and awaited before the send: the recipient's result can
    // arrive before the send's own ack.
    const conversation = randomUUID();
    const answered = request
      ? new Promise<boolean>((resolve) => {
          this.pendingResults.set(conversation, resolve);
          setTimeout(() => {
            if (this.pendingResults.delete(conversation)) {
              fail('request', 'NO_RESULT');
              resolve(false);
            }
          }, 30_000);
        })
      : null;
    // Only a request names its conversation: a plain send naming one would keep its route in Redis
    // for CONVERSATION_TTL_S (an hour), one key per send.
    const payload = {
      to_agent_id: to,
      ...(request && { conversation_id: conversation }),
      content: [{ type: 'text', text: `soak ${Date.now()}` }],
      ...(request && { expect_result: true, timeout_ms: 10_000, metadata: { soak_request: true } }),
    };
    let answer: { status?: string; message_id?: string; error?: { code?: string } };
    try {
      answer = (await socket.timeout(20_000).emitWithAck('send', payload)) as typeof answer;
    } catch {
      answer = { error: { code: 'NO_ACK' } };
    }
    if (answer.status !== 'delivered' || !answer.message_id) {
      this.pendingResults.get(conversation)?.(false);
      this.pendingResults.delete(conversation);
      fail(request ? 'request' : 'send', answer.error?.code ?? 'UNKNOWN');
      return;
    }
    counts.sendAcked++;
    acked.push(answer.message_id);
    if (!answered) return;
    if (await answered) counts.requestsAnswered++;
    else counts.requestsTimedOut++;
  }

  async publish(): Promise<void> {
    try {
      const answer = (await this.socket!.timeout(20_000).emitWithAck('publish', {
        topic: this.topic,
        content: [{ type: 'data', data: { at: Date.now() } }],
      })) as { message_id?: string; error?: { code?: string } };
      if (answer.message_id) counts.published++;
      else fail('publish', answer.error?.code ?? 'UNKNOWN');
    } catch {
      fail('publish', 'NO_ACK');
    }
  }
}

/** `RATE` operations per second over the connected agents: 70 % send, 15 % request/result, 15 % publish. */
async function traffic(agents: SoakAgent[]): Promise<void> {
  const TICK_MS = 50;
  let carry = 0;
  while (trafficOn) {
    await sleep(TICK_MS);
    carry += (RATE * TICK_MS) / 1000;
    const ready = agents.filter((a) => a.ready);
    if (ready.length < 2) continue;
    for (; carry >= 1; carry--) {
      // Bounded: past 500 operations in flight (a fault stalls acks) new ones wait.
      if (inflight >= 500) {
        carry = 0;
        break;
      }
      const from = ready[Math.floor(Math.random() * ready.length)]!;
      const roll = Math.random();
      inflight++;
      let op: Promise<void>;
      if (roll < 0.15) op = from.publish();
      else {
        let to = from;
        while (to === from) to = ready[Math.floor(Math.random() * ready.length)]!;
        op = from.send(to.agentId, roll < 0.3);
      }
      void op.finally(() => inflight--);
    }
  }
}

// ---------------------------------------------------------------- observation

const redis = new Redis({ port: REDIS_PORT, host: '127.0.0.1', lazyConnect: true, commandTimeout: 1_500, maxRetriesPerRequest: 1 });
redis.on('error', () => undefined);
const queue = new Queue('audit', {
  connection: { port: REDIS_PORT, host: '127.0.0.1', maxRetriesPerRequest: 1, commandTimeout: 1_500 },
  prefix: `${KEY_PREFIX}bull`,
});
queue.on('error', () => undefined);

function rssMb(child: ChildProcess | null): string {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return 'down';
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
    return `${Math.round(kb / 1024)} MB`;
  } catch {
    return 'down';
  }
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T | null> =>
  Promise.race([promise.catch(() => null), sleep(ms).then(() => null)]);

async function redisUsedMemory(): Promise<number | null> {
  const info = await withTimeout(redis.info('memory'), 2_000);
  const match = info && /used_memory:(\d+)/.exec(info);
  return match ? Number(match[1]) : null;
}

/** Jobs of the audit queue not yet written (waiting, active, delayed for a retry), or null when Redis does not answer. */
async function queueDepth(): Promise<number | null> {
  const c = await withTimeout(queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children'), 2_000);
  return c ? Object.values(c).reduce((a, b) => a + b, 0) : null;
}

const samples: { t: number; rss: string[]; redis: number | null; depth: number | null }[] = [];
let lastReport = { t: Date.now(), acked: 0 };

async function report(): Promise<void> {
  const rss = nodes.map((n) => rssMb(n.child));
  const used = await redisUsedMemory();
  const depth = await queueDepth();
  samples.push({ t: Date.now() - START, rss, redis: used, depth });
  const now = Date.now();
  const rate = ((counts.sendAcked - lastReport.acked) * 1000) / (now - lastReport.t);
  lastReport = { t: now, acked: counts.sendAcked };
  const failed = [...failures.entries()].map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  log(
    `sends acked ${counts.sendAcked} (${rate.toFixed(0)}/s), requests answered ${counts.requestsAnswered}, published ${counts.published}, ` +
      `failed: ${failed}; agents ready ${agentsReady()}/${AGENTS}, connects ${counts.connects}; ` +
      `RSS ${rss.map((r, i) => `n${i + 1}=${r}`).join(' ')}; Redis used_memory ${used === null ? 'no answer' : `${(used / 1048576).toFixed(1)} MB`}; ` +
      `audit queue ${depth === null ? 'no answer' : `${depth} job(s)`}`,
  );
}
let agentsReady = (): number => 0;

// ---------------------------------------------------------------- faults

interface Fault {
  kind: 'kill-node' | 'pause-redis' | 'stop-postgres';
  target: string;
  at_s: number;
  down_ms: number;
  recovered_ms: number;
}
const faults: Fault[] = [];

async function injectFault(kind: Fault['kind'], round: number): Promise<void> {
  const at = Date.now();
  const fault: Fault = { kind, target: '', at_s: Math.round((at - START) / 1000), down_ms: 0, recovered_ms: 0 };
  if (kind === 'kill-node') {
    const node = nodes[round % NODES]!;
    fault.target = `node ${node.index + 1}`;
    log(`FAULT kill-node: SIGKILL node ${node.index + 1} (pid ${node.child?.pid})`);
    node.up = false;
    node.child?.kill('SIGKILL');
    await sleep(5_000);
    fault.down_ms = Date.now() - at;
    await startNode(node);
    fault.recovered_ms = Date.now() - at;
    log(`FAULT kill-node: node ${node.index + 1} ready again after ${fault.recovered_ms} ms`);
  } else if (kind === 'pause-redis') {
    fault.target = 'redis';
    log(`FAULT pause-redis: SIGSTOP redis-server (pid ${redisChild.pid}) for 5 s`);
    redisChild.kill('SIGSTOP');
    await sleep(5_000);
    redisChild.kill('SIGCONT');
    fault.down_ms = fault.recovered_ms = Date.now() - at;
    log('FAULT pause-redis: SIGCONT');
  } else {
    fault.target = 'postgres';
    log('FAULT stop-postgres: pg_ctl stop -m fast for 10 s');
    stopPostgres();
    await sleep(10_000);
    fault.down_ms = Date.now() - at;
    startPostgres();
    fault.recovered_ms = Date.now() - at;
    log(`FAULT stop-postgres: started again after ${fault.recovered_ms} ms`);
  }
  faults.push(fault);
}

// ---------------------------------------------------------------- the run

let redisChild: ChildProcess;

async function cleanup(): Promise<void> {
  stopping = true;
  await queue.close().catch(() => undefined);
  redis.disconnect();
  for (const node of nodes) node.child?.kill('SIGTERM');
  await sleep(3_000);
  for (const node of nodes) if (node.child && node.child.exitCode === null) node.child.kill('SIGKILL');
  try {
    stopPostgres();
  } catch {
    // already stopped
  }
  redisChild?.kill('SIGTERM');
  await sleep(500);
  if (!options.keep) rmSync(DIR, { recursive: true, force: true });
}

async function main(): Promise<void> {
  log(
    `soak: ${MINUTES} min, ${AGENTS} agents, ${RATE} operations/s, three nodes; Redis :${REDIS_PORT} (AOF everysec), Postgres :${PG_PORT}; logs in ${DIR}`,
  );
  redisChild = startRedis();
  initPostgres();
  startPostgres();
  await redis.connect();
  for (const node of nodes) await startNode(node);
  log('three nodes ready');

  await admin('POST', '/admin/v1/tenants', { tenant_id: TENANT, name: TENANT });
  const agents: SoakAgent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const agentId = `soak-agent-${i}`;
    await admin('POST', '/admin/v1/agents', { agent_id: agentId, tenant_id: TENANT });
    const token = (await admin('POST', `/admin/v1/agents/${agentId}/tokens`, {})).token as string;
    agents.push(new SoakAgent(agentId, token, i % NODES));
  }
  agentsReady = () => agents.filter((a) => a.ready).length;
  for (const agent of agents) agent.connect();
  await sleep(2_000);
  log(`${agentsReady()} agents connected`);

  const durationMs = MINUTES * 60_000;
  const running = traffic(agents);
  const reporter = setInterval(() => void report(), REPORT_S * 1000);

  // One fault at a time, evenly spaced, none in the last minute (or quarter of a short run).
  const interval = Math.min(180_000, Math.max(30_000, durationMs / 12));
  const quiet = Math.min(60_000, durationMs / 4);
  const kinds: Fault['kind'][] = ['kill-node', 'pause-redis', 'stop-postgres'];
  let next = interval * 0.6;
  let round = 0;
  while (Date.now() - START < durationMs) {
    const since = Date.now() - START;
    if (next < durationMs - quiet && since >= next) {
      await injectFault(kinds[round % kinds.length]!, Math.floor(round / kinds.length)).catch((error: Error) =>
        log(`fault failed: ${error.message}`),
      );
      round++;
      next += interval;
    }
    await sleep(500);
  }

  trafficOn = false;
  await running;
  log(`traffic stopped; waiting for ${inflight} operation(s) in flight`);
  for (let i = 0; i < 60 && inflight > 0; i++) await sleep(500);
  for (const agent of agents) agent.drop();
  clearInterval(reporter);
  await report();

  // The audit queue drains into Postgres (every node's writer), then the rows are counted.
  let empty = 0;
  const drainStart = Date.now();
  while (empty < 3 && Date.now() - drainStart < 180_000) {
    await sleep(1_000);
    empty = (await queueDepth()) === 0 ? empty + 1 : 0;
  }
  // The records' last stretch (a node's micro-batch window, the writer's commit).
  await sleep(3_000);
  log(`audit queue ${empty >= 3 ? 'drained' : 'NOT drained'} after ${Date.now() - drainStart} ms`);

  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await db.query('CREATE TEMP TABLE acked (message_id text NOT NULL)');
  for (let i = 0; i < acked.length; i += 5_000) await db.query('INSERT INTO acked SELECT unnest($1::text[])', [acked.slice(i, i + 5_000)]);
  const joined = await db.query<{ acked: string; distinct_acked: string; lost: string; duplicated: string; extra_rows: string }>(`
    SELECT count(*) AS acked, count(DISTINCT a.message_id) AS distinct_acked,
           count(*) FILTER (WHERE r.n IS NULL) AS lost,
           count(*) FILTER (WHERE r.n > 1) AS duplicated,
           coalesce(sum(r.n - 1) FILTER (WHERE r.n > 1), 0) AS extra_rows
    FROM acked a LEFT JOIN (
      SELECT details->>'message_id' AS message_id, count(*) AS n FROM audit_records
      WHERE action = 'message.routed' GROUP BY 1) r ON r.message_id = a.message_id`);
  const totals = await db.query<{ action: string; n: string }>(
    'SELECT action, count(*) AS n FROM audit_records GROUP BY action ORDER BY count(*) DESC',
  );
  const dupAll = await db.query<{ n: string }>(`
    SELECT count(*) AS n FROM (SELECT 1 FROM audit_records WHERE action = 'message.routed' AND details->>'message_id' IS NOT NULL
      GROUP BY details->>'message_id' HAVING count(*) > 1) d`);
  const partitions = await db.query<{ name: string; n: string }>(
    `SELECT tableoid::regclass::text AS name, count(*) AS n FROM audit_records GROUP BY 1 ORDER BY 1`,
  );
  await db.end();

  let verify: Record<string, unknown> = {};
  let checked = 0;
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    verify = await admin('GET', `/admin/v1/audit/verify?limit=1000000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    checked += Number(verify.checked ?? 0);
    cursor = (verify.next_cursor as string | null) ?? null;
    if (verify.complete || !cursor) break;
  }

  const j = joined.rows[0]!;
  const first = samples[1] ?? samples[0];
  const last = samples[samples.length - 1];
  console.log('');
  console.log('================ soak summary ================');
  console.log(`duration: ${MINUTES} min; agents: ${AGENTS}; target rate: ${RATE} operations/s`);
  console.log(
    `sends acknowledged: ${j.acked} (distinct message ids ${j.distinct_acked}); requests answered: ${counts.requestsAnswered}, without result: ${counts.requestsTimedOut}; publishes acknowledged: ${counts.published}; topic messages received: ${counts.topicReceived}`,
  );
  console.log(`acknowledged sends without a message.routed row (lost): ${j.lost}`);
  console.log(`acknowledged sends with more than one row (duplicated): ${j.duplicated} (${j.extra_rows} extra row(s))`);
  console.log(`message.routed message ids with more than one row, all of them: ${dupAll.rows[0]?.n}`);
  console.log(`audit rows by action: ${totals.rows.map((r) => `${r.action}=${r.n}`).join(', ')}`);
  console.log(`audit rows by partition: ${partitions.rows.map((r) => `${r.name}=${r.n}`).join(', ')}`);
  console.log(
    `verify (every chain): ok=${String(verify.ok)} complete=${String(verify.complete)} checked=${checked}${verify.problem ? ` problem=${JSON.stringify({ problem: verify.problem, chain: verify.chain, first_bad_seq: verify.first_bad_seq })}` : ''}`,
  );
  console.log(`failures by operation and code: ${[...failures.entries()].map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`);
  console.log(
    `connections: ${counts.connects} sessions, ${counts.connectFailures} refused/failed connects, ${counts.churnDisconnects} churn disconnects, ${counts.droppedDisconnects} dropped by a fault`,
  );
  console.log(`node starts: ${nodes.map((n) => `n${n.index + 1}=${n.starts}`).join(' ')}`);
  if (first && last)
    console.log(
      `memory: RSS at ${Math.round(first.t / 1000)} s ${first.rss.join('/')} → at ${Math.round(last.t / 1000)} s ${last.rss.join('/')}; Redis used_memory ${first.redis === null ? '?' : (first.redis / 1048576).toFixed(1)} MB → ${last.redis === null ? '?' : (last.redis / 1048576).toFixed(1)} MB`,
    );
  console.log('faults:');
  for (const f of faults)
    console.log(
      `  at ${String(f.at_s).padStart(5)} s  ${f.kind.padEnd(14)} ${f.target.padEnd(9)} down ${f.down_ms} ms, recovered after ${f.recovered_ms} ms`,
    );
  process.exitCode = Number(j.lost) === 0 && Number(j.duplicated) === 0 && verify.ok === true ? 0 : 1;
}

process.once('SIGINT', () => {
  trafficOn = false;
  void cleanup().then(() => process.exit(130));
});

try {
  await main();
} catch (error) {
  log(`soak failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
process.exit();
