import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '#libs/client';
import { adminClient, type AdminClient } from './support/admin.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { PYTHON, PYTHON_SDK_SRC, runPythonScript } from './support/python.js';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../examples/python/', import.meta.url));

// The Python examples of docs/protocol.md and docs/python-sdk.md, as a user runs them: one agent
// on python-socketio (§3), one on the Python SDK speaking the plain protocol (§4), each asking the
// other a question and exchanging a topic message, and the seed-style agent, against a real gateway.
describe('the Python example agents', () => {
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    gateway = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix() });
    admin = adminClient(gateway);
    tenant = await admin.tenant();
    const [sio, ws] = [await admin.agent(tenant, { id: uniqueId('py-sio') }), await admin.agent(tenant, { id: uniqueId('py-ws') })];
    env = {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: PYTHON_SDK_SRC,
      GATEWAY_URL: gateway.url,
      SIO_ID: sio,
      SIO_TOKEN: (await admin.token(sio)).token,
      WS_ID: ws,
      WS_TOKEN: (await admin.token(ws)).token,
    };
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  const agent = (script: string, id: string, token: string, peer: string) =>
    run(PYTHON, [`${EXAMPLES}${script}`], {
      env: { ...env, AGENT_ID: id, AGENT_TOKEN: token, PEER_ID: peer, TIMEOUT_S: '30', PYTHONUNBUFFERED: '1' },
      timeout: 40_000,
    });

  it('the python-socketio agent and the SDK agent exchange requests, results and topic messages both ways', async () => {
    const [sio, ws] = await Promise.all([
      agent('socketio_agent.py', env.SIO_ID ?? '', env.SIO_TOKEN ?? '', env.WS_ID ?? ''),
      agent('websocket_agent.py', env.WS_ID ?? '', env.WS_TOKEN ?? '', env.SIO_ID ?? ''),
    ]);
    const [sioId, wsId] = [env.SIO_ID, env.WS_ID];
    expect(sio.stdout).toContain(`[socketio_agent] ${wsId} says: hello from ${wsId}`);
    expect(sio.stdout).toContain(`[socketio_agent] result from ${wsId}: {"by": "${wsId}", "echo": "HELLO FROM ${sioId?.toUpperCase()}"}`);
    expect(sio.stdout).toContain(`[socketio_agent] topic demo/news from ${wsId}: news from ${wsId}`);
    expect(sio.stdout).toContain('[socketio_agent] done');
    expect(ws.stdout).toContain(`[websocket_agent] ${sioId} says: hello from ${sioId}`);
    expect(ws.stdout).toContain(`[websocket_agent] result from ${sioId}: {"by": "${sioId}", "echo": "HELLO FROM ${wsId?.toUpperCase()}"}`);
    expect(ws.stdout).toContain(`[websocket_agent] topic demo/news from ${sioId}: news from ${sioId}`);
    expect(ws.stdout).toContain('[websocket_agent] done');
  }, 60_000);

  it('the SDK agent stops on a terminal close code instead of reconnecting', async () => {
    const failed = await agent('websocket_agent.py', env.WS_ID ?? '', 'agt_revoked-or-wrong', env.SIO_ID ?? '').then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('closed with 4401: not reconnecting');
  }, 60_000);

  it('the seed-style agent answers a request with the return value of its handler and exits 0 on SIGTERM', async () => {
    const id = await admin.agent(tenant, { id: uniqueId('my-agent'), capabilities: ['search', 'analyze'] });
    const seed = runPythonScript(`${EXAMPLES}seed_agent.py`, [], {
      GATEWAY_URL: gateway.url.replace('http', 'ws'),
      AGENT_ID: id,
      AGENT_TOKEN: (await admin.token(id)).token,
    });
    try {
      await seed.line(`[seed_agent] connected as ${id}`);
      const requesterId = await admin.agent(tenant);
      const requester = new GatewayClient({ url: gateway.url, agentId: requesterId, token: (await admin.token(requesterId)).token });
      await requester.connect();
      try {
        const result = await requester.request(id, 'the question', { timeoutMs: 10_000 });
        expect(result).toMatchObject({ success: true, from_agent_id: id, result: { answer: 42, question: 'the question' } });
      } finally {
        await requester.close();
      }
      seed.child.kill('SIGTERM');
      expect(await seed.exited, seed.output.join('\n')).toBe(0);
      expect(seed.output).toContain('[seed_agent] closed');
    } finally {
      if (seed.child.exitCode === null) seed.child.kill('SIGKILL');
    }
  }, 60_000);
});
