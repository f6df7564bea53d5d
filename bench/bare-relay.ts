/**
 * The baseline of `npm run bench`: a bare socket.io relay on the same machine. It forwards `send`
 * to the agent named by `to_agent_id` with the same ack chain as the gateway (the sender's ack
 * waits for the recipient's ack), and nothing else: no auth, no validation, no Redis.
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server, type Socket } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 2 * 1024 * 1024 });
const agents = new Map<string, Socket>();

io.of('/gateway').on('connection', (socket) => {
  const id = String((socket.handshake.auth as { agent_id?: unknown }).agent_id);
  agents.set(id, socket);
  socket.emit('session', { session_id: socket.id, agent: { agent_id: id } });
  socket.on('disconnect', () => agents.get(id) === socket && agents.delete(id));
  socket.on('send', (payload: { to_agent_id: string; content: unknown }, ack: (r: unknown) => void) => {
    const target = agents.get(payload.to_agent_id);
    if (!target) return ack({ error: { code: 'AGENT_NOT_FOUND', message: 'not connected' } });
    const message = {
      message_id: randomUUID(),
      from_agent_id: id,
      to_agent_id: payload.to_agent_id,
      content: payload.content,
      timestamp: new Date().toISOString(),
    };
    target.timeout(10_000).emit('message', message, (error: Error | null) => {
      if (error) ack({ error: { code: 'TIMEOUT', message: 'no ack' } });
      else ack({ message_id: message.message_id, status: 'delivered', timestamp: message.timestamp });
    });
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ event: 'ready', port: address.port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
