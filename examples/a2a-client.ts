/**
 * Example A2A client: calls a gateway agent with the reference A2A SDK (`@a2a-js/sdk`), as any A2A
 * client would, authenticated as the agent `AGENT_ID` with its API token.
 *
 *   GATEWAY_URL=http://localhost:8700 AGENT_ID=demo-a2a-caller AGENT_TOKEN=agt_… TARGET=demo-responder node dist/examples/a2a-client.js
 */
import { Role, TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';

const gatewayUrl = process.env.GATEWAY_URL ?? 'http://localhost:8700';
const target = process.env.TARGET ?? 'demo-responder';
const token = process.env.AGENT_TOKEN;

// Every request carries the calling agent's credential, the card's fetch included.
const fetchImpl: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  else headers.set('x-agent-id', process.env.AGENT_ID ?? 'demo-a2a-caller');
  return fetch(input, { ...init, headers });
};
const factory = new ClientFactory({
  transports: [new JsonRpcTransportFactory({ fetchImpl })],
  cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
});
const client = await factory.createFromUrl(gatewayUrl, `/a2a/${target}/.well-known/agent-card.json`);
const card = await client.getAgentCard();
console.log(`[a2a-client] card of ${target}: "${card.name}", skills ${card.skills.map((s) => s.id).join(', ') || '(none)'}`);

const answer = (await client.sendMessage({
  tenant: '',
  message: {
    messageId: crypto.randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: 'hello over A2A' }, metadata: {}, filename: '', mediaType: 'text/plain' }],
    metadata: {},
    extensions: [],
    referenceTaskIds: [],
  },
  configuration: undefined,
  metadata: {},
})) as Task;
const content = answer.artifacts[0]?.parts[0]?.content;
const value: unknown = content?.$case === 'text' || content?.$case === 'data' ? content.value : null;
console.log(`[a2a-client] task ${answer.id} ended ${TaskState[answer.status?.state ?? 0]}: ${JSON.stringify(value)}`);
process.exit(answer.status?.state === TaskState.TASK_STATE_COMPLETED ? 0 : 1);
