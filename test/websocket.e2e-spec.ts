import { request as httpRequest } from 'node:http';
import pg from 'pg';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE_CODES, isTerminalCloseCode, type MessageEvent } from '#libs/protocol';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor } from './support/agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs, openWs, type Frame } from './support/ws-agent.js';

const text = (t: string) => [{ type: 'text', text: t }];
const MAX = 4096;

// The plain WebSocket transport (contract §4) spoken by a bare `ws` client, frame by frame, on two
// gateway nodes sharing Redis, next to socket.io agents.
describe('plain WebSocket transport (/gateway/connect)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;

  /** A registered agent of `tenant` (or another) and its token. */
  const agent = async (inTenant = tenant) => {
    const id = await admin.agent(inTenant);
    const issued = await admin.token(id);
    return { id, token: issued.token, tokenId: issued.token_id };
  };

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: uniquePrefix(), MAX_MESSAGE_BYTES: String(MAX) };
    [nodeA, nodeB] = await Promise.all([startGateway(env), startGateway(env)]);
    admin = adminClient(nodeA);
    tenant = await admin.tenant();
  }, 30_000);

  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await db.end();
  });

  describe('connecting', () => {
    it('opens a session with the token in an Authorization header', async () => {
      const me = await agent();
      const ws = await connectWs(nodeA.url, me.token, { agent_name: 'Seed Agent', capabilities: '[]' });
      expect(ws.session).toMatchObject({
        type: 'session',
        session_id: expect.any(String),
        agent: { agent_id: me.id },
        heartbeat_interval_s: expect.any(Number),
        heartbeat_timeout_s: expect.any(Number),
      });
      // It is in the directory like any agent, with its transport.
      const listed = await http('GET', `${nodeB.url}/gateway/agents/${me.id}`, { headers: { authorization: `Bearer ${me.token}` } });
      expect(listed.status).toBe(200);
      ws.socket.close(1000);
      const record = async () =>
        (
          await db.query<{ details: { transport?: string } }>(
            "SELECT details FROM audit_records WHERE action = 'agent.connect' AND actor_id = $1",
            [me.id],
          )
        ).rows[0];
      await waitFor(async () => (await record()) !== undefined, 10_000, 'the agent.connect record');
      expect((await record())?.details.transport).toBe('websocket');
    });

    it('accepts the token as a query parameter (seed clients), and refuses it when WS_QUERY_TOKEN=false', async () => {
      const me = await agent();
      const ws = await openWs(nodeA.url, { query: { agent_id: me.id, token: me.token } });
      expect((await ws.next('session')).agent).toMatchObject({ agent_id: me.id });
      ws.socket.close();
      const strict = await startGateway({ WS_QUERY_TOKEN: 'false' });
      try {
        const refused = await openWs(strict.url, { query: { agent_id: me.id, token: me.token } });
        expect(await refused.next('error')).toMatchObject({ code: 'UNAUTHORIZED' });
        expect((await refused.closed).code).toBe(WS_CLOSE_CODES.unauthorized);
      } finally {
        await strict.stop();
      }
    });

    it('refuses a bad credential or request with an error frame and a terminal close code', async () => {
      const cases: [Record<string, string>, Record<string, string>, string, number][] = [
        [{}, {}, 'UNAUTHORIZED', 4401],
        [{ authorization: 'Bearer agt_not-a-real-token' }, {}, 'UNAUTHORIZED', 4401],
        [{ authorization: `Bearer ${(await agent()).token}` }, { capabilities: '["a",' }, 'INVALID_MESSAGE', 4400],
      ];
      for (const [headers, query, code, close] of cases) {
        const ws = await openWs(nodeA.url, { headers, query });
        expect(await ws.next('error')).toMatchObject({ type: 'error', code, message: expect.any(String) });
        const closed = await ws.closed;
        expect(closed).toEqual({ code: close, reason: code });
        expect(isTerminalCloseCode(closed.code)).toBe(true);
      }
    });

    it('releases the presence of an admitted request whose WebSocket handshake is malformed', async () => {
      const me = await agent();
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest(`${nodeA.url}/gateway/connect?agent_id=${me.id}`, {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '7',
            'sec-websocket-key': Buffer.alloc(16, 1).toString('base64'),
            authorization: `Bearer ${me.token}`,
          },
        });
        request.on('response', (response) => resolve(response.statusCode ?? 0));
        request.on('upgrade', () => resolve(101));
        request.on('error', reject);
        request.end();
      });
      expect(status).toBeGreaterThanOrEqual(400);
      const lookup = () => http('GET', `${nodeB.url}/gateway/agents/${me.id}`, { headers: { authorization: `Bearer ${me.token}` } });
      await waitFor(async () => (await lookup()).status === 404, 3_000, 'the presence to be released');
    });

    it('answers an upgrade on another path with 404, not a hang', async () => {
      const other = await new Promise<number>((resolve) => {
        const socket = new WebSocket(`${nodeA.url.replace(/^http/, 'ws')}/elsewhere`);
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('error', () => resolve(-1));
      });
      expect(other).toBe(404);
    });
  });

  describe('frames', () => {
    it('answers a frame with id by ack, keeps seed frames without id working, and says what is wrong', async () => {
      const me = await agent();
      const ws = await connectWs(nodeA.url, me.token);
      expect(await ws.call('ping')).toEqual({ type: 'ack', id: expect.any(String), status: 'pong' });
      // The seed's heartbeat (no id): processed, no ack.
      ws.send({ type: 'heartbeat', timestamp: new Date().toISOString() });
      expect(await ws.call('heartbeat')).toMatchObject({ type: 'ack', timestamp: expect.any(String) });
      // Malformed JSON, binary, not an object, no type, bad id, unknown type, bad payload.
      ws.sendRaw('{"type": "ping",');
      expect(await ws.next('error')).toEqual({
        type: 'error',
        code: 'INVALID_MESSAGE',
        message: 'frame is not valid JSON',
        request_id: expect.any(String),
      });
      ws.sendRaw(Buffer.from([1, 2, 3]), true);
      expect(await ws.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining('binary') });
      ws.sendRaw('[1,2]');
      expect(await ws.next('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
      ws.send({ id: 'no-type' });
      expect(await ws.next('error')).toMatchObject({ id: 'no-type', code: 'INVALID_MESSAGE', message: expect.stringContaining('type') });
      ws.send({ type: 'ping', id: { nested: true } });
      expect(await ws.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining('id') });
      expect(await ws.call('teleport')).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE', message: 'unknown event "teleport"' });
      expect(await ws.call('send', { to_agent_id: 'x', content: 'not-an-array' })).toMatchObject({
        type: 'error',
        code: 'INVALID_MESSAGE',
        message: expect.stringContaining('content'),
      });
      // A refusal of a frame without id still comes back, without id.
      ws.send({ type: 'send', to_agent_id: uniqueId('nobody'), content: text('hello?') });
      const refusal = await ws.next('error');
      expect(refusal).toMatchObject({ code: 'AGENT_NOT_FOUND' });
      expect(refusal).not.toHaveProperty('id');
      // Over MAX_MESSAGE_BYTES: PAYLOAD_TOO_LARGE with the id, and the connection lives.
      expect(await ws.call('send', { to_agent_id: 'x', content: text('x'.repeat(MAX)) })).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
      });
      expect(await ws.call('ping')).toMatchObject({ type: 'ack', status: 'pong' });
      ws.socket.close();
    });

    it('swaps the credential with refresh and changes the card with update_card', async () => {
      const id = await admin.agent(tenant, { capabilities: ['search', 'analyze'] });
      const first = await admin.token(id, 60);
      const ws = await connectWs(nodeA.url, first.token);
      expect(ws.session.expires_at).toBe(first.expires_at);
      const second = await admin.token(id, 3_600);
      expect(await ws.call('refresh', { token: second.token })).toEqual({
        type: 'ack',
        id: expect.any(String),
        expires_at: second.expires_at,
      });
      expect(await ws.call('refresh', { token: 'agt_forged' })).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
      expect(await ws.call('update_card', { agent_name: 'Renamed', capabilities: ['search'] })).toMatchObject({
        type: 'ack',
        agent_id: id,
        agent_name: 'Renamed',
        capabilities: ['search'],
      });
      expect(await ws.call('update_card', { capabilities: ['search', 'fly'] })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
      ws.socket.close();
    });

    it('closes with 1009 on a frame past the hard cap; the gateway keeps serving', async () => {
      const me = await agent();
      const ws = await connectWs(nodeA.url, me.token);
      ws.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX * 2 + 70_000) }));
      expect((await ws.closed).code).toBe(1009);
      const again = await connectWs(nodeA.url, me.token);
      expect(await again.call('ping')).toMatchObject({ status: 'pong' });
      again.socket.close();
      expect((await http('GET', `${nodeA.url}/healthz`)).status).toBe(200);
    });

    it('answers a flood past the rate limit with RATE_LIMIT and retry_after_ms; the connection survives', async () => {
      const limited = await startGateway({
        REDIS_KEY_PREFIX: uniquePrefix(),
        RATE_LIMIT_DEFAULTS: '{"messages_per_second":5,"burst":5,"connects_per_minute_per_ip":1000}',
      });
      try {
        const me = await agent();
        const ws = await connectWs(limited.url, me.token);
        const answers = await Promise.all(Array.from({ length: 30 }, () => ws.call('update_card', { metadata: { n: 1 } })));
        const limitedAnswers = answers.filter((a) => a.type === 'error' && a.code === 'RATE_LIMIT');
        expect(answers.filter((a) => a.type === 'ack').length).toBeLessThanOrEqual(7);
        expect(limitedAnswers.length).toBeGreaterThanOrEqual(23);
        const retry = Math.max(...limitedAnswers.map((a) => Number(a.retry_after_ms)));
        expect(retry).toBeGreaterThan(0);
        // ping is not counted; after waiting, counted events pass again.
        expect(await ws.call('ping')).toMatchObject({ type: 'ack' });
        await new Promise((r) => setTimeout(r, retry + 50));
        expect(await ws.call('update_card', { metadata: { n: 2 } })).toMatchObject({ type: 'ack' });
        // Garbage counts too: a flood of frames that are not even JSON ends in RATE_LIMIT.
        await new Promise((r) => setTimeout(r, retry + 50));
        for (let i = 0; i < 30; i++) ws.sendRaw('{not json');
        await waitFor(() => ws.frames.filter((f) => f.type === 'error' && f.id === undefined).length >= 30, 5_000, '30 answers');
        const garbage = ws.frames.filter((f) => f.type === 'error' && f.id === undefined).slice(-30);
        expect(garbage.filter((f) => f.code === 'INVALID_MESSAGE').length).toBeLessThanOrEqual(7);
        expect(garbage.filter((f) => f.code === 'RATE_LIMIT').length).toBeGreaterThanOrEqual(23);
        expect(ws.socket.readyState).toBe(ws.socket.OPEN);
        ws.socket.close();
      } finally {
        await limited.stop();
      }
    });
  });

  describe('routing across transports', () => {
    it('socket.io → plain WebSocket: send with expect_result, and the result back', async () => {
      const [sio, plain] = [await agent(), await agent()];
      const sender = await connectAgent(nodeA.url, { token: sio.token });
      const ws = await connectWs(nodeB.url, plain.token);
      const acked = sender.call('send', { to_agent_id: plain.id, content: text('6 x 7?'), expect_result: true, timeout_ms: 5_000 });
      const message = (await ws.next('message')) as Frame & MessageEvent;
      expect(message).toMatchObject({ from_agent_id: sio.id, to_agent_id: plain.id, content: text('6 x 7?') });
      expect(await acked).toMatchObject({ status: 'delivered', conversation_id: message.conversation_id });
      // The seed's result frame: `result` a plain string, no id.
      ws.send({ type: 'result', conversation_id: message.conversation_id, success: true, result: '42', metadata: {} });
      await waitFor(() => sender.results.length === 1, 3_000, 'the result');
      expect(sender.results[0]).toMatchObject({
        conversation_id: message.conversation_id,
        from_agent_id: plain.id,
        success: true,
        result: '42',
      });
      sender.socket.close();
      ws.socket.close();
    });

    it('plain WebSocket → socket.io: send acked once the recipient acked, result delivered as a frame', async () => {
      const [plain, sio] = [await agent(), await agent()];
      const ws = await connectWs(nodeA.url, plain.token);
      const receiver = await connectAgent(nodeB.url, { token: sio.token });
      const ack = await ws.call('send', { to_agent_id: sio.id, content: text('ping'), expect_result: true });
      expect(ack).toMatchObject({ type: 'ack', status: 'delivered', message_id: expect.any(String) });
      expect(receiver.messages[0]).toMatchObject({ from_agent_id: plain.id, content: text('ping') });
      expect(await receiver.call('result', { conversation_id: ack.conversation_id, success: true, result: { pong: true } })).toEqual({
        status: 'delivered',
      });
      expect(await ws.next('result')).toMatchObject({
        conversation_id: ack.conversation_id,
        from_agent_id: sio.id,
        result: { pong: true },
      });
      receiver.socket.close();
      ws.socket.close();
    });

    it('plain WebSocket ↔ plain WebSocket across nodes, with a TIMEOUT result when nobody answers', async () => {
      const [a, b] = [await agent(), await agent()];
      const wa = await connectWs(nodeA.url, a.token);
      const wb = await connectWs(nodeB.url, b.token);
      const ack = await wa.call('send', { to_agent_id: b.id, content: text('answer soon'), expect_result: true, timeout_ms: 300 });
      expect(ack).toMatchObject({ type: 'ack', status: 'delivered' });
      expect(await wb.next('message')).toMatchObject({ from_agent_id: a.id });
      expect(await wa.next('result')).toMatchObject({ conversation_id: ack.conversation_id, success: false, error: { code: 'TIMEOUT' } });
      wa.socket.close();
      wb.socket.close();
    });

    it('topics both ways between transports, with recipients in the ack, and never across tenants', async () => {
      const [plain, sio] = [await agent(), await agent()];
      const otherTenant = await admin.tenant();
      const outsider = await agent(otherTenant);
      const ws = await connectWs(nodeA.url, plain.token);
      const io = await connectAgent(nodeB.url, { token: sio.token });
      const stranger = await connectWs(nodeB.url, outsider.token);
      const ioTopics: unknown[] = [];
      io.socket.on('topic_message', (m: unknown) => ioTopics.push(m));
      expect(await ws.call('subscribe', { topic: 'news/eu' })).toMatchObject({ type: 'ack', topic: 'news/eu', status: 'subscribed' });
      expect(await io.call('subscribe', { topic: 'news/eu' })).toEqual({ topic: 'news/eu', status: 'subscribed' });
      expect(await stranger.call('subscribe', { topic: 'news/eu' })).toMatchObject({ status: 'subscribed' });

      expect(await ws.call('publish', { topic: 'news/eu', content: text('from ws') })).toMatchObject({ type: 'ack', recipients: 1 });
      await waitFor(() => ioTopics.length === 1, 3_000, 'the topic message on socket.io');
      expect(ioTopics[0]).toMatchObject({ topic: 'news/eu', from_agent_id: plain.id, content: text('from ws') });

      expect(await io.call('publish', { topic: 'news/eu', content: text('from socket.io') })).toMatchObject({ recipients: 1 });
      expect(await ws.next('topic_message')).toMatchObject({ topic: 'news/eu', from_agent_id: sio.id, content: text('from socket.io') });

      expect(await ws.call('unsubscribe', { topic: 'news/eu' })).toMatchObject({ status: 'unsubscribed' });
      expect(await io.call('publish', { topic: 'news/eu', content: text('again') })).toMatchObject({ recipients: 0 });
      // The other tenant's subscriber heard none of it; its own publish reaches nobody here.
      expect(await stranger.call('publish', { topic: 'news/eu', content: text('hello?') })).toMatchObject({ recipients: 0 });
      await new Promise((r) => setTimeout(r, 200));
      expect(stranger.frames.filter((f) => f.type === 'topic_message')).toEqual([]);
      expect(ioTopics).toHaveLength(1);
      io.socket.close();
      ws.socket.close();
      stranger.socket.close();
    });
  });

  describe('closing', () => {
    it('closes a revoked session within a second with session_closed and 4410 (terminal)', async () => {
      const me = await agent();
      const ws = await connectWs(nodeB.url, me.token);
      const started = Date.now();
      expect((await admin.call('DELETE', `/admin/v1/tokens/${me.tokenId}`)).status).toBe(204);
      expect(await ws.next('session_closed')).toMatchObject({ reason: 'revoked', reconnect: false });
      const closed = await ws.closed;
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(closed).toEqual({ code: WS_CLOSE_CODES.revoked, reason: 'revoked' });
    });

    it('replaces an older connection of the same agent (4409) and drains with 4503 (retry) on SIGTERM', async () => {
      const own = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix() });
      const me = await agent();
      const first = await connectWs(own.url, me.token);
      const second = await connectWs(own.url, me.token);
      expect((await first.closed).code).toBe(WS_CLOSE_CODES.replaced);
      void own.stop('SIGTERM');
      expect(await second.next('session_closed')).toMatchObject({ reason: 'server_shutdown', reconnect: true });
      const closed = await second.closed;
      expect(closed.code).toBe(WS_CLOSE_CODES.server_shutdown);
      expect(isTerminalCloseCode(closed.code)).toBe(false);
    });

    it('pings; drops a peer that stops answering pings', async () => {
      const own = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix(), WS_PING_INTERVAL_S: '1' });
      try {
        const me = await agent();
        const live = await connectWs(own.url, me.token);
        let pings = 0;
        live.socket.on('ping', () => pings++);
        const other = await agent();
        const mute = await openWs(own.url, { token: other.token, ws: { autoPong: false } });
        await mute.next('session');
        const closed = await mute.closed;
        expect(closed.code).toBe(1006); // terminated: no close frame from a dead peer's point of view
        expect(pings).toBeGreaterThanOrEqual(1);
        expect(live.socket.readyState).toBe(live.socket.OPEN);
        live.socket.close();
      } finally {
        await own.stop();
      }
    });
  });
});
