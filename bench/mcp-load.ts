/**
 * The MCP load of `npm run bench`, run as its own process:
 *   node mcp-load.js <url> <pairs> <inflight> <seconds> <payloadBytes> [credentials.json]
 * Per pair, a socket.io agent that answers every message with a `result`, and an MCP client (the
 * SDK's `Client` over Streamable HTTP, authenticated as the pair's other agent) keeping `inflight`
 * `tools/call`s to it in flight: each one a POST /mcp, authenticated, routed through the dispatcher,
 * delivered, answered and returned as the tool result. Prints one JSON line: calls/s, p50/p99.
 */
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { io, type Socket } from 'socket.io-client';

const [target = '', pairsArg, inflightArg, secondsArg, payloadArg, credentialsFile] = process.argv.slice(2);
const pairs = Number(pairsArg);
const inflight = Number(inflightArg);
const seconds = Number(secondsArg);
const payloadBytes = Number(payloadArg);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A socket.io agent answering each message with its text length. */
function responder(agentId: string, token?: string): Promise<Socket> {
  const socket = io(`${target}/gateway`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { agent_id: agentId, ...(token && { token }) },
  });
  socket.on('message', (message: { conversation_id: string; content: { text?: string }[] }, ack: (r: unknown) => void) => {
    ack({ status: 'received' });
    socket.emit(
      'result',
      { conversation_id: message.conversation_id, success: true, result: `got ${message.content[0]?.text?.length ?? 0}` },
      () => undefined,
    );
  });
  return new Promise((resolve, reject) => {
    socket.once('session', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function mcpClient(agentId: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'agw-bench', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : { 'x-agent-id': agentId };
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', target), { requestInit: { headers } }));
  return client;
}

const run = Math.random().toString(36).slice(2, 8);
const credentials = credentialsFile ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as { agentId: string; token: string }[]) : null;
const ids = Array.from({ length: pairs * 2 }, (_, i) => credentials?.[i]?.agentId ?? `bench-mcp-${run}-${i}`);
// Pair p: the MCP client is agent 2p, the responder agent 2p + 1 (as the routing load's sender and recipient).
const pairIndexes = Array.from({ length: pairs }, (_, p) => p);
const responders = await Promise.all(pairIndexes.map((p) => responder(ids[2 * p + 1]!, credentials?.[2 * p + 1]?.token)));
const clients = await Promise.all(pairIndexes.map((p) => mcpClient(ids[2 * p]!, credentials?.[2 * p]?.token)));
const text = 'x'.repeat(payloadBytes);
const latencies: number[] = [];
let errors = 0;
let measuring = false;
let stop = false;
const loop = async (client: Client, tool: string): Promise<void> => {
  while (!stop) {
    const started = performance.now();
    const ok = await client.callTool({ name: tool, arguments: { text } }).then(
      (result) => result.isError !== true,
      () => false,
    );
    if (!measuring) continue;
    if (ok) latencies.push(performance.now() - started);
    else errors++;
  }
};
const loops: Promise<void>[] = [];
for (let p = 0; p < pairs; p++) {
  for (let k = 0; k < inflight; k++) loops.push(loop(clients[p]!, ids[2 * p + 1]!));
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
for (const socket of responders) socket.close();
for (const client of clients) await client.close();
console.log(
  JSON.stringify({
    msgs_per_s: Math.round(count / elapsed),
    p50_ms: +percentile(latencies, 50).toFixed(2),
    p99_ms: +percentile(latencies, 99).toFixed(2),
    errors,
    count,
  }),
);
