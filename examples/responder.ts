/**
 * Example agent: answers every message with its text in upper case.
 *
 *   GATEWAY_URL=http://localhost:8700 AGENT_ID=demo-responder AGENT_TOKEN=agt_… node dist/examples/responder.js
 */
import { GatewayClient } from '#libs/client';

const client = new GatewayClient({
  url: process.env.GATEWAY_URL ?? 'http://localhost:8700',
  agentId: process.env.AGENT_ID ?? 'demo-responder',
  ...(process.env.AGENT_TOKEN && { token: process.env.AGENT_TOKEN }),
  agentName: 'Demo responder',
});

client.onMessage((message) => {
  const text = message.content.map((part) => (part.type === 'text' ? part.text : JSON.stringify(part.data))).join(' ');
  console.log(`[responder] ${message.from_agent_id} says: ${text}`);
  return { upper: text.toUpperCase() };
});
client.on('disconnected', (reason, details) =>
  console.log(`[responder] disconnected: ${reason}${details.reconnect ? ' (reconnecting)' : ''}`),
);
client.on('connection_error', (error) => console.log(`[responder] connection error: ${error.message}`));

const session = await client.connect();
console.log(`[responder] ready as ${session.agent.agent_id} (session ${session.session_id})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void client.close().then(() => process.exit(0)));
}
