/**
 * The load generator of `npm run bench`, run as its own process. Modes:
 *   roundtrip <url> <pairs> <inflight> <seconds> <payloadBytes> [credentials.json]  → send/ack round trips between pairs (socket.io)
 *   roundtrip-ws <same arguments>                                 → the same over the plain WebSocket transport (/gateway/connect)
 *   openloop <url> <pairs> <rate> <seconds> <payloadBytes> [credentials.json] → sends at a fixed rate (msgs/s in all), whatever the answers
 *   idle <url> <count>, idle-ws <url> <count>                     → open `count` connections and hold them
 *   connects <config.json>                                        → connect, get `session`, close, in a loop per credential
 * Prints one JSON line with the figures.
 */
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';

const [mode, target = '', ...rest] = process.argv.slice(2);

/** One bench agent, whatever its transport: `send` resolves true when the gateway answered `delivered`. */
interface BenchAgent {
  send(to: string, content: unknown): Promise<boolean>;
  close(): void;
}

async function connectSocketIo(agentId: string, token?: string): Promise<BenchAgent> {
  const socket = await connect(agentId, token);
  return {
    send: async (to, content) =>
      ((await socket.timeout(15_000).emitWithAck('send', { to_agent_id: to, content })) as { status?: string }).status === 'delivered',
    close: () => socket.close(),
  };
}

/** A plain WebSocket agent speaking the §4 frames; acks are matched by `id`. */
function connectWebSocket(agentId: string, token?: string): Promise<BenchAgent> {
  const url = `${target.replace(/^http/, 'ws')}/gateway/connect?agent_id=${encodeURIComponent(agentId)}`;
  const socket = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, perMessageDeflate: false });
  const pending = new Map<number, (ok: boolean) => void>();
  let next = 0;
  socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as { type: string; id?: number; status?: string };
    if ((frame.type === 'ack' || frame.type === 'error') && frame.id !== undefined) {
      pending.get(frame.id)?.(frame.type === 'ack' && frame.status === 'delivered');
      pending.delete(frame.id);
    }
  });
  const agent: BenchAgent = {
    send: (to, content) =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ type: 'send', id, to_agent_id: to, content }));
      }),
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('message', (data: Buffer) => {
      const first = JSON.parse(data.toString('utf8')) as { type: string };
      if (first.type === 'session') resolve(agent);
      else reject(new Error(`connect refused: ${data.toString('utf8')}`));
    });
    socket.once('error', reject);
  });
}

function connect(agentId: string, token?: string): Promise<Socket> {
  const socket = io(`${target}/gateway`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { agent_id: agentId, ...(token && { token }) },
  });
  socket.on('message', (_m: unknown, ack: (r: unknown) => void) => ack({ status: 'received' }));
  return new Promise((resolve, reject) => {
    socket.once('session', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function roundtrip(
  open: (agentId: string, token?: string) => Promise<BenchAgent>,
  pairs: number,
  inflight: number,
  seconds: number,
  payloadBytes: number,
  credentialsFile?: string,
): Promise<void> {
  const run = Math.random().toString(36).slice(2, 8);
  // With a credentials file (the gateway with authentication), agents are the provisioned ones.
  const credentials = credentialsFile ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as { agentId: string; token: string }[]) : null;
  const ids = Array.from({ length: pairs * 2 }, (_, i) => credentials?.[i]?.agentId ?? `bench-${run}-${i}`);
  const sockets = await Promise.all(ids.map((id, i) => open(id, credentials?.[i]?.token)));
  const content = [{ type: 'text', text: 'x'.repeat(payloadBytes) }];
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const loop = async (sender: BenchAgent, to: string): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      const delivered = await sender.send(to, content);
      if (!measuring) continue;
      if (delivered) latencies.push(performance.now() - started);
      else errors++;
    }
  };
  const loops: Promise<void>[] = [];
  for (let p = 0; p < pairs; p++) {
    for (let k = 0; k < inflight; k++) loops.push(loop(sockets[2 * p]!, ids[2 * p + 1]!));
  }
  await new Promise((r) => setTimeout(r, 1_000)); // warm-up
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const count = latencies.length;
  stop = true;
  await Promise.allSettled(loops);
  latencies.sort((a, b) => a - b);
  for (const s of sockets) s.close();
  console.log(
    JSON.stringify({
      msgs_per_s: Math.round(count / elapsed),
      p50_ms: +percentile(latencies, 50).toFixed(2),
      p99_ms: +percentile(latencies, 99).toFixed(2),
      errors,
      count,
    }),
  );
}

/**
 * Open loop: the k-th send is due at start + k / rate, spread round robin over the senders, and
 * goes out when due whether or not earlier ones were answered. Latency counts from the due time,
 * not from when the send went out, so a stall shows in the figures instead of slowing the load
 * down (no coordinated omission). Prints p50, p99 and p99.9.
 */
async function openLoop(pairs: number, rate: number, seconds: number, payloadBytes: number, credentialsFile?: string): Promise<void> {
  const run = Math.random().toString(36).slice(2, 8);
  const credentials = credentialsFile ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as { agentId: string; token: string }[]) : null;
  const ids = Array.from({ length: pairs * 2 }, (_, i) => credentials?.[i]?.agentId ?? `bench-${run}-${i}`);
  const agents = await Promise.all(ids.map((id, i) => connectSocketIo(id, credentials?.[i]?.token)));
  const content = [{ type: 'text', text: 'x'.repeat(payloadBytes) }];
  const latencies: number[] = [];
  let errors = 0;
  let outstanding = 0;
  const warmUpMs = 1_000;
  const durationMs = warmUpMs + seconds * 1000;
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const elapsed = now - start;
      const due = Math.floor((Math.min(elapsed, durationMs) * rate) / 1000);
      for (; sent < due; sent++) {
        const dueAt = start + (sent * 1000) / rate;
        const measured = dueAt - start >= warmUpMs;
        const pair = sent % pairs;
        outstanding++;
        void agents[2 * pair]!.send(ids[2 * pair + 1]!, content).then((delivered) => {
          outstanding--;
          if (measured) {
            if (delivered) latencies.push(performance.now() - dueAt);
            else errors++;
          }
        });
      }
      if (elapsed < durationMs) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  // The answers still on their way, bounded.
  for (let waited = 0; outstanding > 0 && waited < 15_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  errors += outstanding;
  latencies.sort((a, b) => a - b);
  for (const a of agents) a.close();
  console.log(
    JSON.stringify({
      msgs_per_s: Math.round(latencies.length / seconds),
      rate,
      p50_ms: +percentile(latencies, 50).toFixed(2),
      p99_ms: +percentile(latencies, 99).toFixed(2),
      p999_ms: +percentile(latencies, 99.9).toFixed(2),
      errors,
      count: latencies.length,
    }),
  );
}

async function idle(open: (agentId: string) => Promise<BenchAgent>, count: number): Promise<void> {
  const run = Math.random().toString(36).slice(2, 8);
  const sockets: BenchAgent[] = [];
  for (let i = 0; i < count; i += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => open(`idle-${run}-${i + j}`)))));
  }
  console.log(JSON.stringify({ connected: sockets.length }));
  // Hold the connections until told to stop.
  process.once('SIGTERM', () => {
    for (const s of sockets) s.close();
    process.exit(0);
  });
}

interface ConnectConfig {
  url: string;
  ca: string;
  seconds: number;
  credentials: { agentId: string; token?: string; cert?: string; key?: string }[];
}

async function connects(file: string): Promise<void> {
  const config = JSON.parse(readFileSync(file, 'utf8')) as ConnectConfig;
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const once = (credential: ConnectConfig['credentials'][number]): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = io(`${config.url}/gateway`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        ca: config.ca,
        auth: { agent_id: credential.agentId, ...(credential.token && { token: credential.token }) },
        ...(credential.cert && { cert: credential.cert, key: credential.key }),
      });
      const done = (ok: boolean): void => {
        socket.close();
        resolve(ok);
      };
      socket.once('session', () => done(true));
      socket.once('connect_error', () => done(false));
    });
  const loop = async (credential: ConnectConfig['credentials'][number]): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      const ok = await once(credential);
      if (!measuring) continue;
      if (ok) latencies.push(performance.now() - started);
      else errors++;
      // Let the gateway see the close before the same agent connects again (no `replaced`).
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const loops = config.credentials.map((c) => loop(c));
  await new Promise((r) => setTimeout(r, 1_000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, config.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const count = latencies.length;
  stop = true;
  await Promise.allSettled(loops);
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      connects_per_s: Math.round(count / elapsed),
      p50_ms: +percentile(latencies, 50).toFixed(2),
      p99_ms: +percentile(latencies, 99).toFixed(2),
      errors,
    }),
  );
}

if (mode === 'connects') await connects(target);
else if (mode === 'roundtrip' || mode === 'roundtrip-ws') {
  const open = mode === 'roundtrip' ? connectSocketIo : connectWebSocket;
  await roundtrip(open, Number(rest[0]), Number(rest[1]), Number(rest[2]), Number(rest[3]), rest[4]);
} else if (mode === 'openloop') await openLoop(Number(rest[0]), Number(rest[1]), Number(rest[2]), Number(rest[3]), rest[4]);
else if (mode === 'idle') await idle(connectSocketIo, Number(rest[0]));
else if (mode === 'idle-ws') await idle(connectWebSocket, Number(rest[0]));
else throw new Error(`unknown mode ${mode}`);
