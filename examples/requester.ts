/**
 * Example agent: sends one request to the responder, prints the result, and exits.
 *
 *   GATEWAY_URL=http://localhost:8700 AGENT_ID=demo-requester AGENT_TOKEN=agt_… node dist/examples/requester.js
 */
import { GatewayClient } from '#libs/client';

const target = process.env.TARGET_AGENT_ID ?? 'demo-responder';
const client = new GatewayClient({
  url: process.env.GATEWAY_URL ?? 'http://localhost:8700',
  agentId: process.env.AGENT_ID ?? 'demo-requester',
  ...(process.env.AGENT_TOKEN && { token: process.env.AGENT_TOKEN }),
  agentName: 'Demo requester',
});

try {
  await client.connect();
  console.log(`[requester] asking ${target}…`);
  const result = await client.request(target, 'hello from the requester', { timeoutMs: 5_000 });
  console.log(`[requester] result from ${result.from_agent_id}: ${JSON.stringify(result.result)}`);
  await client.close();
  process.exit(result.success ? 0 : 1);
} catch (error) {
  console.error(`[requester] failed: ${(error as Error).message}`);
  await client.close();
  process.exit(1);
}
