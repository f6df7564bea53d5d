import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, http, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Real gateway process; plain fetch. Checks the exact response shapes of contract §5 and §1.
describe('agent HTTP API and health endpoints', () => {
  let gateway: GatewayProcess;
  let alpha: TestAgent;
  const caller = uniqueId('http-caller');

  beforeAll(async () => {
    gateway = await startGateway({ AUTH_METHODS: 'none' });
    alpha = await connectAgent(gateway.url, {
      auth: { agent_id: uniqueId('alpha'), agent_name: 'Alpha', capabilities: ['search', 'analyze'] },
    });
  });

  afterAll(async () => {
    alpha?.socket.close();
    await gateway?.stop();
  });

  it('GET /gateway/agents lists online agents as { agents: [...] }', async () => {
    const { status, body } = await http('GET', `${gateway.url}/gateway/agents`, { headers: { 'x-agent-id': caller } });
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['agents']);
    const entry = (body.agents as Record<string, unknown>[]).find((a) => a.agent_id === alpha.session.agent.agent_id);
    expect(entry).toEqual({
      agent_id: alpha.session.agent.agent_id,
      agent_name: 'Alpha',
      capabilities: ['search', 'analyze'],
      status: 'online',
      last_heartbeat: expect.stringMatching(ISO),
    });
  });

  it('GET /gateway/agents/{id} returns the card with connected_at, 404 AGENT_NOT_FOUND otherwise', async () => {
    const found = await http('GET', `${gateway.url}/gateway/agents/${alpha.session.agent.agent_id}`, { headers: { 'x-agent-id': caller } });
    expect(found.status).toBe(200);
    expect(found.body).toEqual({
      agent_id: alpha.session.agent.agent_id,
      agent_name: 'Alpha',
      capabilities: ['search', 'analyze'],
      status: 'online',
      last_heartbeat: expect.stringMatching(ISO),
      description: null,
      metadata: {},
      connected_at: expect.stringMatching(ISO),
    });
    const missing = await http('GET', `${gateway.url}/gateway/agents/ghost-agent`, { headers: { 'x-agent-id': caller } });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { code: 'AGENT_NOT_FOUND', message: 'agent "ghost-agent" is not connected', request_id: expect.any(String) },
    });
  });

  it('POST /gateway/send delivers and answers { message_id, status: "delivered", timestamp }', async () => {
    const { status, body } = await http('POST', `${gateway.url}/gateway/send`, {
      body: {
        from_agent_id: caller,
        to_agent_id: alpha.session.agent.agent_id,
        conversation_id: 'conv-http',
        content: [{ type: 'text', text: 'Hello' }],
        metadata: {},
      },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      message_id: expect.any(String),
      conversation_id: 'conv-http',
      status: 'delivered',
      timestamp: expect.stringMatching(ISO),
    });
    expect(alpha.messages.at(-1)).toMatchObject({
      from_agent_id: caller,
      conversation_id: 'conv-http',
      content: [{ type: 'text', text: 'Hello' }],
    });
  });

  it('POST /gateway/send refuses bad bodies with 400 INVALID_MESSAGE and unknown targets with 404', async () => {
    const bad = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { 'x-agent-id': caller },
      body: { to_agent_id: alpha.session.agent.agent_id },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'INVALID_MESSAGE', message: 'send: content: is required', request_id: expect.any(String) } });
    const malformed = await http('POST', `${gateway.url}/gateway/send`, { headers: { 'x-agent-id': caller }, rawBody: '{"to_agent_id":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('malformed JSON') } });
    const nobody = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { 'x-agent-id': caller },
      body: { to_agent_id: 'nobody', content: [{ type: 'text', text: 'x' }] },
    });
    expect(nobody.status).toBe(404);
    expect(nobody.body).toEqual({
      error: { code: 'AGENT_NOT_FOUND', message: 'agent "nobody" is not connected', request_id: expect.any(String) },
    });
  });

  it('GET /gateway/status answers the contract shape', async () => {
    const { status, body } = await http('GET', `${gateway.url}/gateway/status`, { headers: { 'x-agent-id': caller } });
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'running',
      version: expect.any(String),
      uptime_seconds: expect.any(Number),
      connected_agents: 1,
      total_messages: 1,
    });
  });

  it('GET /gateway/manifest needs no auth and says how to connect', async () => {
    const { status, body } = await http('GET', `${gateway.url}/gateway/manifest`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: 'agent-gateway',
      description: expect.any(String),
      version: expect.any(String),
      current_agents: expect.any(Number),
      max_capacity: 10_000,
      auth_methods: ['none'],
      transports: ['socket.io', 'websocket', 'http'],
      features: expect.arrayContaining(['direct-messages', 'request-result']),
      endpoints: {
        socketio: { path: '/socket.io', namespace: '/gateway' },
        websocket: { path: '/gateway/connect' },
        http: { base: '/gateway' },
      },
    });
  });

  it('refuses an HTTP caller without credentials with 401 UNAUTHORIZED', async () => {
    const { status, body } = await http('GET', `${gateway.url}/gateway/agents`);
    expect(status).toBe(401);
    expect(body).toEqual({
      error: { code: 'UNAUTHORIZED', message: expect.any(String), reason: expect.any(String), request_id: expect.any(String) },
    });
  });

  it('serves /healthz and /readyz on both ports and /metrics on the admin port only', async () => {
    for (const base of [gateway.url, gateway.adminUrl]) {
      expect(await http('GET', `${base}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(await http('GET', `${base}/readyz`)).toMatchObject({
        status: 200,
        body: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', accepting: 'ok' } },
      });
    }
    const metrics = await fetch(`${gateway.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('agw_sessions{transport="socket.io"} 1');
    expect(text).toMatch(/agw_routed_total\{kind="message"\} 1/);
    expect((await http('GET', `${gateway.url}/metrics`)).status).toBe(404);
    expect((await http('GET', `${gateway.adminUrl}/gateway/agents`)).status).toBe(404);
  });

  it('answers unknown routes with 404 NOT_FOUND in the error shape', async () => {
    expect(await http('GET', `${gateway.url}/nope`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'no such route' } },
    });
  });
});
