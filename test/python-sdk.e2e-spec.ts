import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '#libs/client';
import { adminClient, type AdminClient } from './support/admin.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { createTestPki } from './support/pki.js';
import { freePort } from './support/ports.js';
import { PYTHON, PYTHON_SDK_SRC, runPythonScript, type PythonScript } from './support/python.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCENARIOS = `${ROOT}test/python/sdk_scenarios.py`;

// The Python SDK (clients/python, contract §12): its unit tests, then the package against the real
// gateway (the compiled production bootstrap, real Postgres and Redis, agents and tokens from the
// admin API). Each scenario is a Python script that prints what it saw as JSON lines; the
// assertions are here.
describe('Python SDK (clients/python)', () => {
  it('passes its unit tests (backoff, frames, error mapping, the client against a scripted gateway)', async () => {
    const outcome = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', `${ROOT}clients/python/tests`, '-v'], {
      env: { PATH: process.env.PATH ?? '', PYTHONPATH: PYTHON_SDK_SRC },
      timeout: 120_000,
    }).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    // unittest reports on stderr; on failure the whole report is the message.
    expect(outcome, outcome.stderr).toMatchObject({ code: 0 });
    expect(outcome.stderr).toMatch(/^Ran [1-9]\d* tests? in /m);
    expect(outcome.stderr).toMatch(/^OK$/m);
  }, 150_000);

  describe('against a real gateway', () => {
    const scripts: PythonScript[] = [];
    const cleanup: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const script of scripts.splice(0)) if (script.child.exitCode === null) script.child.kill('SIGKILL');
      for (const fn of cleanup.splice(0).reverse()) await fn();
    });
    const scenario = (name: string, env: Record<string, string>): PythonScript => {
      const script = runPythonScript(SCENARIOS, [name], env);
      scripts.push(script);
      return script;
    };
    const nodeAgent = async (gateway: GatewayProcess, agentId: string, token: string): Promise<GatewayClient> => {
      const client = new GatewayClient({ url: gateway.url, agentId, token });
      cleanup.push(() => client.close());
      await client.connect();
      return client;
    };

    let gateway: GatewayProcess;
    let admin: AdminClient;
    let tenant: string;
    beforeAll(async () => {
      gateway = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix() });
      admin = adminClient(gateway);
      tenant = await admin.tenant();
    });
    afterAll(async () => {
      await gateway?.stop();
    });
    const agentWithToken = async (stem: string): Promise<{ id: string; token: string; tokenId: string }> => {
      const id = await admin.agent(tenant, { id: uniqueId(stem) });
      const { token, token_id } = await admin.token(id);
      return { id, token, tokenId: token_id };
    };

    it('requests and results both ways (Python ↔ Python, Python ↔ Node SDK), AGENT_ERROR, AGENT_NOT_FOUND, TIMEOUT, topics, send, update_card', async () => {
      const [a, b, node] = [await agentWithToken('py-a'), await agentWithToken('py-b'), await agentWithToken('node')];
      const nodeClient = await nodeAgent(gateway, node.id, node.token);
      nodeClient.onMessage((message) => ({ node_says: message.content[0]?.type === 'text' ? message.content[0].text : null }));
      const topic = `py/${uniqueId('news')}`;
      const py = scenario('basics', {
        GATEWAY_URL: gateway.url,
        A_ID: a.id,
        A_TOKEN: a.token,
        B_ID: b.id,
        B_TOKEN: b.token,
        NODE_ID: node.id,
        TOPIC: topic,
      });
      await py.next('ready');
      const fromNode = await nodeClient.request(a.id, 'from node', { timeoutMs: 10_000 });
      expect(fromNode).toMatchObject({ success: true, from_agent_id: a.id, result: { python_says: 'edon morf', by: a.id } });

      const done = await py.next('done', 40_000).catch((error: Error) => error);
      expect(done, py.output.join('\n')).not.toBeInstanceOf(Error);
      const seen = Object.fromEntries(py.events.map((e) => [e.event, e]));
      expect(seen.a_to_b).toMatchObject({ value: { echo: 'HELLO B', by: b.id } });
      expect(seen.b_to_a).toMatchObject({ value: { python_says: 'a olleh', by: a.id } });
      expect(seen.a_to_node).toMatchObject({ value: { node_says: 'hello node' } });
      expect(seen.handler_exception).toMatchObject({ error: { code: 'AGENT_ERROR', message: 'disk full' } });
      expect(seen.unknown_target).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
      expect(seen.time_out).toMatchObject({ error: { code: 'TIMEOUT' } });
      expect(seen.subscribe).toMatchObject({ value: { topic, status: 'subscribed' } });
      expect(seen.publish).toMatchObject({ value: { recipients: 1 } });
      expect(seen.topic_received).toMatchObject({ value: `${a.id}: news 1` });
      expect(seen.unsubscribe).toMatchObject({ value: { topic, status: 'unsubscribed' } });
      expect(seen.publish_after_unsubscribe).toMatchObject({ value: { recipients: 0 } });
      expect(seen.send).toMatchObject({ value: { status: 'delivered' } });
      expect(seen.b_got_data).toMatchObject({ data: { n: 1 }, expect_result: false });
      expect(seen.update_card).toMatchObject({ value: { agent_id: a.id, agent_name: 'Python A renamed' } });
      expect(await py.exited).toBe(0);
    }, 60_000);

    it('a refused token raises GatewayError("UNAUTHORIZED") from connect() after one attempt, with no retry', async () => {
      const a = await agentWithToken('py-refused');
      const py = scenario('bad_token', { GATEWAY_URL: gateway.url, A_ID: a.id });
      const refused = await py.next('refused');
      expect(refused).toMatchObject({ code: 'UNAUTHORIZED', reason: 'unknown_token', close_code: 4401, attempts: 1, state: 'closed' });
      expect(await py.next('later')).toMatchObject({ attempts: 1 });
      expect(await py.exited).toBe(0);
    }, 30_000);

    it('an A2A CancelTask reaches the handler: its task is cancelled, handle_cancel runs, no result is sent', async () => {
      const [agent, caller] = [await agentWithToken('py-cancel'), await agentWithToken('a2a-caller')];
      const py = scenario('cancel', { GATEWAY_URL: gateway.url, A_ID: agent.id, A_TOKEN: agent.token });
      await py.next('ready');
      const rpc = async (method: string, params: unknown): Promise<Record<string, unknown>> => {
        const response = await fetch(`${gateway.url}/a2a/${agent.id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${caller.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        });
        return (await response.json()) as Record<string, unknown>;
      };
      const sent = await rpc('SendMessage', {
        message: { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'work' }] },
        configuration: { returnImmediately: true },
      });
      const taskId = (sent.result as { task: { id: string } }).task.id;
      expect(await py.next('working')).toMatchObject({ conversation_id: taskId });
      expect(await rpc('CancelTask', { id: taskId })).toMatchObject({ result: { id: taskId, status: { state: 'TASK_STATE_CANCELED' } } });
      expect(await py.next('canceled')).toMatchObject({ conversations: [taskId] });
      expect(await py.exited).toBe(0);
      const after = (await rpc('GetTask', { id: taskId })).result as { status: { state: string }; artifacts?: unknown[] };
      expect(after.status.state).toBe('TASK_STATE_CANCELED');
      // No result reached the task: the handler never finished.
      expect(after.artifacts ?? []).toEqual([]);
    }, 40_000);

    it('a slow, blocking handler does not delay heartbeats: both sessions outlive heartbeat_timeout_s', async () => {
      const slow = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix(), HEARTBEAT_INTERVAL_S: '1', HEARTBEAT_TIMEOUT_S: '3' });
      cleanup.push(() => slow.stop());
      const slowAdmin = adminClient(slow);
      const slowTenant = await slowAdmin.tenant();
      const [a, b] = [await slowAdmin.agent(slowTenant), await slowAdmin.agent(slowTenant)];
      const py = scenario('slow_handler', {
        GATEWAY_URL: slow.url,
        A_ID: a,
        A_TOKEN: (await slowAdmin.token(a)).token,
        B_ID: b,
        B_TOKEN: (await slowAdmin.token(b)).token,
        HOLD_S: '6',
      });
      expect(await py.next('ready')).toMatchObject({ heartbeat_interval_s: 1, heartbeat_timeout_s: 3 });
      // The handler holds for twice heartbeat_timeout_s: without heartbeats meanwhile the gateway
      // would close the session (heartbeat_timeout) and the result could not be delivered.
      const result = await py.next('result', 30_000);
      expect(result, `gateway output:\n${slow.output.slice(-40).join('\n')}`).toMatchObject({
        value: 'finally',
        disconnects: [],
        same_sessions: true,
      });
      expect(result.heartbeats_during).toBeGreaterThanOrEqual(2);
      expect(await py.exited).toBe(0);
    }, 45_000);

    it('connects over TLS: mTLS with cert_file/key_file/ca_file and no token, a token over an ssl context', async () => {
      const pki = createTestPki();
      cleanup.push(() => Promise.resolve(pki.cleanup()));
      const tls = await startGateway({
        REDIS_KEY_PREFIX: uniquePrefix(),
        AUTH_METHODS: 'mtls,token',
        TLS_CERT: pki.server.certPath,
        TLS_KEY: pki.server.keyPath,
        TLS_CLIENT_CA: pki.caCertPath,
      });
      cleanup.push(() => tls.stop());
      const tlsAdmin = adminClient(tls);
      const tlsTenant = await tlsAdmin.tenant();
      const [a, b] = [await tlsAdmin.agent(tlsTenant), await tlsAdmin.agent(tlsTenant)];
      const cert = pki.issueClient({ cn: `cn-${a}` });
      expect((await tlsAdmin.call('POST', `/admin/v1/agents/${a}/certificates`, { fingerprint_sha256: cert.fingerprint256 })).status).toBe(
        201,
      );
      const py = scenario('tls', {
        GATEWAY_URL: tls.url,
        A_ID: a,
        CERT_FILE: cert.certPath,
        KEY_FILE: cert.keyPath,
        CA_FILE: pki.caCertPath,
        B_ID: b,
        B_TOKEN: (await tlsAdmin.token(b)).token,
      });
      expect(tls.url.startsWith('https://')).toBe(true);
      expect(await py.next('mtls_session')).toMatchObject({ agent_id: a, expires_at: expect.any(String) });
      expect(await py.next('request')).toMatchObject({ value: 'over TLS: hi' });
      expect(await py.next('untrusted')).toMatchObject({ error: { code: 'UNAVAILABLE', message: expect.stringMatching(/certificate/i) } });
      await py.next('done');
      expect(await py.exited).toBe(0);
    }, 45_000);

    it('comes back by itself after the gateway restarts, with a fresh token from the callable, and subscribes again', async () => {
      const port = String(await freePort());
      const env = { PORT: port, REDIS_KEY_PREFIX: uniquePrefix() };
      const first = await startGateway(env);
      // A second node on the same Postgres and Redis: its admin API works while the first is down.
      const helper = await startGateway({ REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX });
      cleanup.push(
        () => first.stop(),
        () => helper.stop(),
      );
      const helperAdmin = adminClient(helper);
      const restartTenant = await helperAdmin.tenant();
      const a = await helperAdmin.agent(restartTenant);
      const [firstToken, secondToken] = [await helperAdmin.token(a), await helperAdmin.token(a)];
      const publisher = await helperAdmin.agent(restartTenant);
      const publisherToken = (await helperAdmin.token(publisher)).token;
      const topic = `py/${uniqueId('restart')}`;
      const py = scenario('reconnect', {
        GATEWAY_URL: first.url,
        A_ID: a,
        A_TOKEN: firstToken.token,
        A_TOKEN_2: secondToken.token,
        TOPIC: topic,
      });
      const firstSession = await py.next('connected');
      await py.next('subscribed');

      expect(await first.stop()).toBe(0);
      expect(await py.next('disconnected')).toMatchObject({ reason: 'server_shutdown', code: 4503, reconnect: true });
      // The first token is revoked while the gateway is down: only a fresh token from the callable
      // can bring the client back (with the old one it would get 4401 and stop).
      expect((await helperAdmin.call('DELETE', `/admin/v1/tokens/${firstToken.token_id}`)).status).toBeLessThan(300);
      await py.next('reconnecting');

      const second = await startGateway(env);
      cleanup.push(() => second.stop());
      const secondSession = await py.next('connected', 20_000, (e) => e.session_id !== firstSession.session_id);
      expect(second.url).toBe(first.url);
      // on_connected comes after the topics were subscribed again, so one publish must reach it.
      const nodePublisher = await nodeAgent(second, publisher, publisherToken);
      expect(await nodePublisher.publish(topic, 'after the restart')).toMatchObject({ recipients: 1 });
      expect(await py.next('topic')).toMatchObject({ text: 'after the restart', session_id: secondSession.session_id });
      expect(await py.next('ping')).toMatchObject({ value: { status: 'pong' } });
      expect(await py.next('done')).toMatchObject({ state: 'closed', last_error: null });
      const calls = py.events.filter((e) => e.event === 'token_called');
      expect(calls[0]).toMatchObject({ call: 1, index: 0 });
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.slice(1).every((c) => c.index === 1)).toBe(true);
      expect(py.events.filter((e) => e.event === 'disconnected')).toHaveLength(1);
      expect(await py.exited).toBe(0);
    }, 60_000);
  });
});
