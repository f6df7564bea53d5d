import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, http, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const LIMIT = 4096;

// Real gateway process; a raw socket.io-client sends what a buggy or hostile client would.
describe('socket.io agent plane: every frame is validated, none crashes the process', () => {
  let gateway: GatewayProcess;
  let agent: TestAgent;
  let peer: TestAgent;

  beforeAll(async () => {
    gateway = await startGateway({ AUTH_METHODS: 'none', MAX_MESSAGE_BYTES: String(LIMIT) });
    agent = await connectAgent(gateway.url, { agentId: uniqueId('fuzzer') });
    peer = await connectAgent(gateway.url, { agentId: uniqueId('peer') });
  });

  afterAll(async () => {
    agent?.socket.close();
    peer?.socket.close();
    await gateway?.stop();
  });

  const text = [{ type: 'text', text: 'x' }];
  const cases: [string, string, unknown, string][] = [
    ['a string payload', 'send', 'hello', 'send: expected object, received string'],
    ['a number payload', 'send', 42, 'send: expected object, received number'],
    ['an array payload', 'send', [1, 2], 'send: expected object, received array'],
    ['a null payload', 'send', null, 'send: expected object, received null'],
    ['a missing field', 'send', { content: text }, 'send: to_agent_id: is required'],
    ['a wrong type', 'send', { to_agent_id: 7, content: text }, 'send: to_agent_id: expected string, received number'],
    ['a bad agent id', 'send', { to_agent_id: '../etc/passwd', content: text }, 'send: to_agent_id: must be an agent id'],
    [
      'a bad conversation id',
      'send',
      { to_agent_id: 'peer', conversation_id: 'has space', content: text },
      'send: conversation_id: must be a conversation id',
    ],
    [
      'an unknown field that matters',
      'send',
      { to_agent_id: 'peer', from_agent_id: 'someone-else', content: text },
      'send: unknown field "from_agent_id"',
    ],
    ['empty content', 'send', { to_agent_id: 'peer', content: [] }, 'send: content: Too small'],
    ['an unknown content part', 'send', { to_agent_id: 'peer', content: [{ type: 'image', url: 'x' }] }, 'send: content[0].type'],
    ['a text part without text', 'send', { to_agent_id: 'peer', content: [{ type: 'text' }] }, 'send: content[0].text: is required'],
    [
      'metadata that is not an object',
      'send',
      { to_agent_id: 'peer', content: text, metadata: [1] },
      'send: metadata: expected record, received array',
    ],
    [
      'a negative timeout',
      'send',
      { to_agent_id: 'peer', content: text, expect_result: true, timeout_ms: -5 },
      'send: timeout_ms: Too small',
    ],
    ['a result without success', 'result', { conversation_id: 'c1' }, 'result: success: is required'],
    ['an empty update_card', 'update_card', {}, 'update_card: at least one of agent_name, capabilities, metadata is required'],
    ['a bad capability', 'update_card', { capabilities: ['has space'] }, 'update_card: capabilities[0]: must be a capability'],
    ['an unknown event', 'teleport', {}, 'unknown event "teleport"'],
  ];

  it.each(cases)('refuses %s with INVALID_MESSAGE naming the problem', async (_name, event, payload, message) => {
    const ack = await agent.call(event, payload);
    expect(ack).toEqual({ error: { code: 'INVALID_MESSAGE', message: expect.stringContaining(message), request_id: expect.any(String) } });
  });

  it('refuses an event with extra arguments', async () => {
    const ack = (await agent.socket.timeout(5_000).emitWithAck('ping', {}, 'extra')) as unknown;
    expect(ack).toEqual({
      error: { code: 'INVALID_MESSAGE', message: 'an event takes one payload object and an ack callback', request_id: expect.any(String) },
    });
  });

  it('refuses binary attachments', async () => {
    const ack = (await agent.socket
      .timeout(5_000)
      .emitWithAck('send', { to_agent_id: 'peer', content: [{ type: 'data', data: Buffer.from('abc') }] })) as unknown;
    expect(ack).toEqual({ error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('binary'), request_id: expect.any(String) } });
  });

  it('refuses a frame over MAX_MESSAGE_BYTES with PAYLOAD_TOO_LARGE and keeps the connection', async () => {
    const ack = await agent.call('send', {
      to_agent_id: peer.session.agent.agent_id,
      content: [{ type: 'text', text: 'x'.repeat(LIMIT + 10) }],
    });
    expect(ack).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining(`over the limit of ${LIMIT}`), request_id: expect.any(String) },
    });
    expect(agent.socket.connected).toBe(true);
    const justUnder = await agent.call('send', {
      to_agent_id: peer.session.agent.agent_id,
      content: [{ type: 'text', text: 'x'.repeat(LIMIT - 200) }],
    });
    expect(justUnder.status).toBe('delivered');
  });

  it('counts bytes, not characters', async () => {
    // 1500 three-byte characters: 1500 characters, 4500 bytes.
    const ack = await agent.call('send', { to_agent_id: peer.session.agent.agent_id, content: [{ type: 'text', text: '€'.repeat(1500) }] });
    expect(ack).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('refuses an oversize HTTP body with 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { 'x-agent-id': uniqueId('http') },
      body: { to_agent_id: peer.session.agent.agent_id, content: [{ type: 'text', text: 'x'.repeat(LIMIT * 2) }] },
    });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String), request_id: expect.any(String) } });
  });

  it('is still serving after all of the above', async () => {
    expect(await agent.call('ping', {})).toEqual({ status: 'pong' });
    expect(gateway.child.exitCode).toBeNull();
  });

  it('refuses a handshake with a malformed card', async () => {
    await expect(connectAgent(gateway.url, { auth: { agent_id: uniqueId('bad'), capabilities: 'search' } })).rejects.toMatchObject({
      data: { code: 'INVALID_MESSAGE', message: expect.stringContaining('capabilities') },
    });
    await expect(connectAgent(gateway.url, { auth: { agent_id: 'not valid!' } })).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });
});
