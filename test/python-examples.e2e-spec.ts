import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../examples/python/', import.meta.url));
// Debian's interpreter, where `.ci/run` installs python3-socketio and python3-websockets.
const PYTHON = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

// The Python example pair of docs/protocol.md, as a user runs it: one agent on python-socketio
// (§3), one on `websockets` speaking the plain protocol (§4), each asking the other a question and
// exchanging a topic message, against a real gateway.
describe('the Python example agents', () => {
  let gateway: GatewayProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    gateway = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix() });
    const admin = adminClient(gateway);
    const tenant = await admin.tenant();
    const [sio, ws] = [await admin.agent(tenant, { id: uniqueId('py-sio') }), await admin.agent(tenant, { id: uniqueId('py-ws') })];
    env = {
      PATH: process.env.PATH ?? '',
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

  it('the python-socketio agent and the websockets agent exchange requests, results and topic messages both ways', async () => {
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

  it('the websockets agent stops on a terminal close code instead of reconnecting', async () => {
    const failed = await agent('websocket_agent.py', env.WS_ID ?? '', 'agt_revoked-or-wrong', env.SIO_ID ?? '').then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('closed with 4401: not reconnecting');
  }, 60_000);
});
