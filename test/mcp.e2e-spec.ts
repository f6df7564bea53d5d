import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '#libs/protocol';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { freePort } from './support/ports.js';
import { connectWs, type Frame, type WsAgent } from './support/ws-agent.js';

// Real gateway processes (the production bootstrap), real socket.io and plain WebSocket agents, and
// the reference MCP client: the SDK's `Client` over its `StreamableHTTPClientTransport`.

/** What an agent answers a message with: a result, or nothing at all. */
type Answer = (message: MessageEvent) => { success: boolean; result?: unknown; error?: unknown } | null;

const open: { close(): unknown }[] = [];

async function mcpClient(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'mcp-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } }));
  open.push(client);
  return client;
}

/** Every tool, page after page. */
async function allTools(client: Client): Promise<{ tools: Tool[]; pages: number }> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  return { tools, pages };
}

/** A socket.io agent that answers each message as `answer` says, and remembers what it got. */
async function socketAgent(
  url: string,
  options: { agentId?: string; token?: string; tls?: { ca: string } },
  answer: Answer,
): Promise<TestAgent> {
  // Messages come only after the session, by which time the agent is here to answer them.
  const self: { agent?: TestAgent } = {};
  const agent = await connectAgent(url, {
    ...options,
    onMessage: (message, ack) => {
      ack({ status: 'received' });
      const reply = answer(message);
      if (reply) void self.agent?.call('result', { conversation_id: message.conversation_id, ...reply }).catch(() => undefined);
    },
  });
  self.agent = agent;
  open.push(agent.socket);
  return agent;
}

/** A plain WebSocket agent that answers each message as `answer` says. */
async function wsAgent(url: string, token: string, answer: Answer): Promise<WsAgent & { session: Frame }> {
  const agent = await connectWs(url, token);
  agent.socket.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString('utf8')) as Frame;
    if (frame.type !== 'message') return;
    const message = frame as unknown as MessageEvent;
    const reply = answer(message);
    if (reply) agent.send({ type: 'result', conversation_id: message.conversation_id, ...reply });
  });
  open.push(agent.socket);
  return agent;
}

/** The text of a tool result's first content item. */
function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/** A raw request to the agent listener, with any `Host` (fetch would not let a test set it). */
function rawPost(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = new URL('/mcp', url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      target,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

const run = promisify(execFile);
const RUN_MCP = fileURLToPath(new URL('../dist/examples/run-mcp.js', import.meta.url));

afterAll(async () => {
  for (const item of open) await item.close();
});

describe('MCP on one node (token authentication)', () => {
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  let callerToken: string;
  let caller: Client;
  const ids = {
    caller: uniqueId('mcp-caller'),
    sock: uniqueId('sock'),
    plain: uniqueId('plain'),
    failing: uniqueId('failing'),
    silent: uniqueId('silent'),
    hidden: uniqueId('hidden'),
    colon: `team:${uniqueId('alpha')}`,
    stranger: uniqueId('stranger'),
  };
  const received: MessageEvent[] = [];

  const register = async (
    tenantId: string,
    agentId: string,
    card: { agent_name?: string; description?: string; capabilities?: string[] } = {},
  ) => {
    const created = await admin.call('POST', '/admin/v1/agents', { agent_id: agentId, tenant_id: tenantId, ...card });
    if (created.status !== 201) throw new Error(`register ${agentId}: ${JSON.stringify(created.body)}`);
    return (await admin.token(agentId)).token;
  };

  beforeAll(async () => {
    gateway = await startGateway({ MCP_TIMEOUT_MS: '1000', MCP_ALLOWED_HOSTS: '127.0.0.1,localhost' });
    admin = adminClient(gateway);
    tenant = await admin.tenant();
    const elsewhere = await admin.tenant();
    callerToken = await register(tenant, ids.caller);
    const tokens = {
      sock: await register(tenant, ids.sock, {
        agent_name: 'Socket echo',
        description: 'Echoes what it gets.',
        capabilities: ['echo', 'text'],
      }),
      plain: await register(tenant, ids.plain, { agent_name: 'Plain adder', capabilities: ['math'] }),
      failing: await register(tenant, ids.failing),
      silent: await register(tenant, ids.silent),
      hidden: await register(tenant, ids.hidden),
      colon: await register(tenant, ids.colon),
      stranger: await register(elsewhere, ids.stranger),
    };
    const policy = await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, {
      rules: [
        { effect: 'allow', actions: ['send', 'publish', 'subscribe'], from: {}, to: {} },
        { effect: 'deny', actions: ['send'], from: { agent_id: ids.caller }, to: { agent_id: ids.hidden } },
      ],
    });
    expect(policy.status).toBe(200);
    const echo: Answer = (message) => {
      received.push(message);
      return {
        success: true,
        result: message.content.map((part) => (part.type === 'text' ? part.text : JSON.stringify(part.data))).join(' | '),
      };
    };
    await socketAgent(gateway.url, { agentId: ids.sock, token: tokens.sock }, echo);
    await wsAgent(gateway.url, tokens.plain, (message) => {
      const data = message.content.find((part) => part.type === 'data')?.data as { a: number; b: number };
      return { success: true, result: { sum: data.a + data.b, via: 'websocket' } };
    });
    await socketAgent(gateway.url, { agentId: ids.failing, token: tokens.failing }, () => ({
      success: false,
      error: { code: 'TOOL_BROKEN', message: 'the disk is on fire' },
    }));
    await socketAgent(gateway.url, { agentId: ids.silent, token: tokens.silent }, () => null);
    await socketAgent(gateway.url, { agentId: ids.hidden, token: tokens.hidden }, echo);
    await socketAgent(gateway.url, { agentId: ids.colon, token: tokens.colon }, () => ({ success: true, result: [1, 2, 3] }));
    await socketAgent(gateway.url, { agentId: ids.stranger, token: tokens.stranger }, echo);
    // The caller is connected too: it must not be offered itself.
    await socketAgent(gateway.url, { agentId: ids.caller, token: callerToken }, echo);
    caller = await mcpClient(gateway.url, { authorization: `Bearer ${callerToken}` });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('lists the connected agents of its tenant it may send to: not itself, not one the policy hides, not another tenant’s', async () => {
    const { tools } = await allTools(caller);
    const byAgent = new Map(tools.map((tool) => [tool._meta?.['agent-gateway/agent_id'], tool]));
    expect([...byAgent.keys()].sort()).toEqual([ids.sock, ids.plain, ids.failing, ids.silent, ids.colon].sort());
    expect(byAgent.get(ids.sock)).toEqual({
      name: ids.sock,
      title: 'Socket echo',
      description: 'Echoes what it gets.\n\nCapabilities: echo, text.',
      inputSchema: { type: 'object', properties: { text: { type: 'string' }, data: {} } },
      _meta: { 'agent-gateway/agent_id': ids.sock },
    });
    expect(byAgent.get(ids.plain)).toMatchObject({ name: ids.plain, title: 'Plain adder', description: 'Capabilities: math.' });
    expect(byAgent.get(ids.colon)?.name).toBe(ids.colon.replace(':', '_'));
    expect(caller.getServerCapabilities()?.tools).toBeDefined();
  });

  it('calls a socket.io agent: its text and data arrive as parts, its string result is one text item', async () => {
    const result = (await caller.callTool({ name: ids.sock, arguments: { text: 'hello', data: { n: 1 } } })) as CallToolResult;
    expect(result).toEqual({ content: [{ type: 'text', text: 'hello | {"n":1}' }] });
    const message = received.find((m) => m.to_agent_id === ids.sock);
    expect(message).toMatchObject({
      from_agent_id: ids.caller,
      content: [
        { type: 'text', text: 'hello' },
        { type: 'data', data: { n: 1 } },
      ],
      expect_result: true,
    });
  });

  it('calls a plain WebSocket agent: an object result is structuredContent plus its JSON as text', async () => {
    const result = (await caller.callTool({ name: ids.plain, arguments: { data: { a: 2, b: 40 } } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ sum: 42, via: 'websocket' });
    expect(JSON.parse(textOf(result))).toEqual({ sum: 42, via: 'websocket' });
  });

  it('calls an agent by its sanitised name; an array result is wrapped as structuredContent.result', async () => {
    const result = (await caller.callTool({ name: ids.colon.replace(':', '_'), arguments: { text: 'x' } })) as CallToolResult;
    expect(result.structuredContent).toEqual({ result: [1, 2, 3] });
    expect(textOf(result)).toBe('[1,2,3]');
  });

  it('answers isError with the agent’s code and message when the agent fails', async () => {
    const result = (await caller.callTool({ name: ids.failing, arguments: { text: 'do it' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('TOOL_BROKEN: the disk is on fire');
  });

  it('answers isError TIMEOUT when the agent gives no result within MCP_TIMEOUT_MS', async () => {
    const result = (await caller.callTool({ name: ids.silent, arguments: { text: 'anyone?' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^TIMEOUT: /);
    expect(result.structuredContent).toMatchObject({ error: { code: 'TIMEOUT' } });
  });

  it('answers isError with the gateway’s code for refusals: policy, unknown tool, another tenant, bad arguments', async () => {
    const hidden = (await caller.callTool({ name: ids.hidden, arguments: { text: 'psst' } })) as CallToolResult;
    expect(hidden).toMatchObject({ isError: true, structuredContent: { error: { code: 'FORBIDDEN', request_id: expect.any(String) } } });
    expect(textOf(hidden)).toMatch(/^FORBIDDEN: /);
    for (const name of [uniqueId('nobody'), ids.stranger]) {
      const missing = (await caller.callTool({ name, arguments: { text: 'hi' } })) as CallToolResult;
      expect(missing).toMatchObject({ isError: true, structuredContent: { error: { code: 'AGENT_NOT_FOUND' } } });
    }
    for (const args of [{}, { text: 3 }, { text: 'x', extra: true }]) {
      const bad = (await caller.callTool({ name: ids.sock, arguments: args })) as CallToolResult;
      expect(bad).toMatchObject({ isError: true, structuredContent: { error: { code: 'INVALID_MESSAGE' } } });
    }
  });

  it('audits a tool call as message.routed with details.protocol "mcp" and the tool, and a refusal as message.denied', async () => {
    await caller.callTool({ name: ids.sock, arguments: { text: 'audited' } });
    const find = async (action: string, subject: string) => {
      const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=${action}&agent_id=${ids.caller}&limit=100`);
      return (page.body.items as { subject: string; details: Record<string, unknown> }[]).find((row) => row.subject === subject);
    };
    let routed: Awaited<ReturnType<typeof find>>;
    await waitFor(async () => (routed = await find('message.routed', ids.sock)) !== undefined, 15_000, 'the message.routed record');
    expect(routed?.details).toMatchObject({ protocol: 'mcp', 'mcp.tool': ids.sock });
    let denied: Awaited<ReturnType<typeof find>>;
    await waitFor(async () => (denied = await find('message.denied', ids.hidden)) !== undefined, 15_000, 'the message.denied record');
    expect(denied?.details).toMatchObject({ protocol: 'mcp', 'mcp.tool': ids.hidden });
  });

  it('refuses a request without credentials with 401 and the gateway’s error body, before MCP sees it', async () => {
    const response = await http('POST', `${gateway.url}/mcp`, {
      body: INITIALIZE,
      headers: { accept: 'application/json, text/event-stream' },
    });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'UNAUTHORIZED', reason: 'no_credential' } });
    // Without oidc: a bearer challenge, and no metadata to point to.
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="agent-gateway"');
    expect((await http('GET', `${gateway.url}/.well-known/oauth-protected-resource/mcp`)).status).toBe(404);
    const wrong = await http('POST', `${gateway.url}/mcp`, {
      body: INITIALIZE,
      headers: { accept: 'application/json, text/event-stream', authorization: 'Bearer agt_not-a-token' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await expect(mcpClient(gateway.url, {})).rejects.toSatisfy((error) => error instanceof StreamableHTTPError && error.code === 401);
  });

  it('refuses a rebound Host or a browser Origin (DNS-rebinding protection), even before authentication', async () => {
    const auth = { authorization: `Bearer ${callerToken}` };
    const port = new URL(gateway.url).port;
    const good = await rawPost(gateway.url, { ...auth, host: `localhost:${port}` }, INITIALIZE);
    expect(good.status).toBe(200);
    const rebound: Record<string, string>[] = [
      { ...auth, host: `attacker.example:${port}` },
      { host: `attacker.example:${port}` },
      { ...auth, origin: 'http://attacker.example' },
    ];
    for (const headers of rebound) {
      const refused = await rawPost(gateway.url, headers, INITIALIZE);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });

  it('answers GET and DELETE with 405: stateless, no stream and no session', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await http(method, `${gateway.url}/mcp`, {
        headers: { authorization: `Bearer ${callerToken}`, accept: 'text/event-stream' },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });
});

describe('MCP across two nodes (AUTH_METHODS=none)', () => {
  let one: GatewayProcess;
  let two: GatewayProcess;
  const tenantAgents = (prefix: string, n: number): string[] =>
    Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    const env = { AUTH_METHODS: 'none', REDIS_KEY_PREFIX: uniquePrefix(), NONE_TENANT_ID: uniqueId('none-tenant') };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
  });

  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('lists on one node an agent connected to the other, and calls it there', async () => {
    const remote = uniqueId('remote');
    await socketAgent(two.url, { agentId: remote }, (message) => ({
      success: true,
      result: `node two got ${message.content.length} part(s)`,
    }));
    const client = await mcpClient(one.url, { 'x-agent-id': uniqueId('mcp-user') });
    const { tools } = await allTools(client);
    expect(tools.map((tool) => tool.name)).toContain(remote);
    const result = (await client.callTool({ name: remote, arguments: { text: 'across' } })) as CallToolResult;
    expect(result).toEqual({ content: [{ type: 'text', text: 'node two got 1 part(s)' }] });
  });

  it('pages tools/list past 100 tools with a cursor, every tool once; a forged cursor is refused', async () => {
    const prefix = uniqueId('many');
    const many = tenantAgents(prefix, 105);
    for (const id of many) await socketAgent(two.url, { agentId: id }, () => ({ success: true, result: id }));
    const client = await mcpClient(one.url, { 'x-agent-id': uniqueId('pager') });
    const first = await client.listTools({});
    expect(first.tools).toHaveLength(100);
    expect(first.nextCursor).toEqual(expect.any(String));
    const { tools, pages } = await allTools(client);
    expect(pages).toBeGreaterThanOrEqual(2);
    const names = tools.map((tool) => tool.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => name.startsWith(prefix))).toEqual(many);
    await expect(client.listTools({ cursor: 'bm90LWEtY3Vyc29y' })).rejects.toSatisfy(
      (error) => error instanceof McpError && error.code === (ErrorCode.InvalidParams as number) && /INVALID_MESSAGE/.test(error.message),
    );
  }, 60_000);
});

describe('MCP with oidc on: RFC 9728 discovery and RFC 8707 audiences, against a real OpenID provider', () => {
  let issuer: TestIssuer;
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let resource: string;

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    resource = `${base}/mcp`;
    // The IdP issues tokens for the MCP resource (RFC 8707), which is the gateway's required audience.
    issuer = await startTestIssuer({ resources: [resource] });
    gateway = await startGateway({
      PORT: String(port),
      AUTH_METHODS: 'oidc,token',
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: resource,
      OIDC_AGENT_CLAIM: 'client_id',
      OIDC_ALLOW_HTTP: 'true',
      MCP_PUBLIC_URL: base,
      AUTH_FAILURE_LIMIT: '10000',
    });
    admin = adminClient(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
  });

  it('answers 401 with a challenge naming the metadata, which names OIDC_ISSUER', async () => {
    const response = await fetch(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(response.status).toBe(401);
    const challenge = extractWWWAuthenticateParams(response);
    expect(challenge.resourceMetadataUrl?.href).toBe(new URL('/.well-known/oauth-protected-resource/mcp', resource).href);
    const metadata = await discoverOAuthProtectedResourceMetadata(resource);
    expect(metadata).toMatchObject({ resource, authorization_servers: [issuer.issuer], bearer_methods_supported: ['header'] });
  });

  it('lets the SDK client discover the IdP, get a token for the resource and list and call tools', async () => {
    const tenant = await admin.tenant();
    const mcpAgent = await admin.agent(tenant);
    const clientId = `client-${mcpAgent}`;
    issuer.addClient(clientId, `secret-${mcpAgent}`);
    expect((await admin.call('POST', `/admin/v1/agents/${mcpAgent}/oidc-subjects`, { subject: clientId })).status).toBe(201);
    const worker = await admin.agent(tenant);
    await socketAgent(gateway.url, { agentId: worker, token: (await admin.token(worker)).token }, () => ({
      success: true,
      result: 'via oauth',
    }));

    const client = new Client({ name: 'mcp-oauth-e2e', version: '1.0.0' });
    const authProvider = new ClientCredentialsProvider({ clientId, clientSecret: `secret-${mcpAgent}`, expectedIssuer: issuer.issuer });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider }));
    open.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([worker]);
    expect(await client.callTool({ name: worker, arguments: { text: 'hi' } })).toEqual({ content: [{ type: 'text', text: 'via oauth' }] });
  });

  it('refuses an IdP token issued for another audience (RFC 8707): 401 invalid_token', async () => {
    const tenant = await admin.tenant();
    const agent = await admin.agent(tenant);
    const clientId = `client-${agent}`;
    issuer.addClient(clientId, `secret-${agent}`);
    await admin.call('POST', `/admin/v1/agents/${agent}/oidc-subjects`, { subject: clientId });
    const elsewhere = await issuer.jwtToken(clientId, `secret-${agent}`);
    const response = await http('POST', resource, {
      body: INITIALIZE,
      headers: { accept: 'application/json, text/event-stream', authorization: `Bearer ${elsewhere}` },
    });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'UNAUTHORIZED', reason: 'invalid_token' } });
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

/**
 * A fetch over node:https with a client certificate, for the SDK client (the global fetch cannot
 * present one without undici's dispatcher). Bodies are small JSON: read whole.
 */
function fetchWithCertificate(tls: { ca: string; cert: string; key: string }): FetchLike {
  return (input, init) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const request = httpsRequest(new URL(String(input)), { method: init?.method ?? 'GET', headers, ...tls }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
          resolve(
            new Response(chunks.length > 0 ? Buffer.concat(chunks) : null, { status: response.statusCode ?? 0, headers: responseHeaders }),
          );
        });
      });
      request.on('error', reject);
      request.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}

describe('MCP over TLS with a client certificate (AUTH_METHODS=mtls)', () => {
  let pki: TestPki;
  let gateway: GatewayProcess;
  let admin: AdminClient;

  beforeAll(async () => {
    pki = createTestPki();
    gateway = await startGateway({
      AUTH_METHODS: 'mtls,token',
      TLS_CERT: pki.server.certPath,
      TLS_KEY: pki.server.keyPath,
      TLS_CLIENT_CA: pki.caCertPath,
    });
    admin = adminClient(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
    pki?.cleanup();
  });

  it('serves /mcp on the TLS listener to the agent its certificate is bound to', async () => {
    expect(gateway.url.startsWith('https://')).toBe(true);
    const tenant = await admin.tenant();
    const host = await admin.agent(tenant);
    const certificate = pki.issueClient({ cn: host });
    expect(
      (await admin.call('POST', `/admin/v1/agents/${host}/certificates`, { fingerprint_sha256: certificate.fingerprint256 })).status,
    ).toBe(201);
    const worker = await admin.agent(tenant);
    await socketAgent(
      gateway.url,
      { agentId: worker, token: (await admin.token(worker)).token, tls: { ca: pki.caCertPem } },
      (message) => ({
        success: true,
        result: { from: message.from_agent_id },
      }),
    );
    const client = new Client({ name: 'mcp-mtls-e2e', version: '1.0.0' });
    const fetch = fetchWithCertificate({ ca: pki.caCertPem, cert: certificate.certPem, key: certificate.keyPem });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', gateway.url), { fetch }));
    open.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([worker]);
    const result = (await client.callTool({ name: worker, arguments: { text: 'who am I?' } })) as CallToolResult;
    expect(result.structuredContent).toEqual({ from: host });
  });
});

// The README's MCP example, as a user runs it: a gateway with nothing configured (token auth), then
// `npm run example:mcp`, which provisions with the operator CLI and runs the socket.io responder.
describe('the MCP example (npm run example:mcp)', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway({});
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('lists the demo responder as a tool and calls it through /mcp', async () => {
    const { stdout } = await run(process.execPath, [RUN_MCP], {
      env: { ...process.env, GATEWAY_URL: gateway.url, DATABASE_URL: TEST_DATABASE_URL },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/\[mcp\] tool demo-responder: /);
    expect(stdout).toContain('[responder] demo-mcp-client says: hello over MCP');
    expect(stdout).toContain('[mcp] demo-responder answered: {"upper":"HELLO OVER MCP"}');
  }, 40_000);
});
