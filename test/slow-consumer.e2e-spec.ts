import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs } from './support/ws-agent.js';

/** The TCP socket under a `ws` WebSocket (what a client that stops reading stops reading). */
type WithTcp = { _socket: { pause(): void; resume(): void } };

// A client that stops reading must not make the gateway hold everything sent to it: past
// SEND_BUFFER_LIMIT_BYTES its session is closed with `slow_consumer`, on both transports, and
// everyone else keeps being served.
describe('slow consumers (SEND_BUFFER_LIMIT_BYTES)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  let publisher: TestAgent;
  const chunk = [{ type: 'text', text: 'x'.repeat(32 * 1024) }];

  const agent = async () => {
    const id = await admin.agent(tenant);
    return { id, token: (await admin.token(id)).token };
  };
  const disconnectReason = async (agentId: string) =>
    (
      await db.query<{ reason: string }>(
        "SELECT reason FROM audit_records WHERE action = 'agent.disconnect' AND actor_id <> $1 AND subject = $1",
        [agentId],
      )
    ).rows[0]?.reason;

  /** Publishes 32 KiB messages on `topic` until nobody receives them (the stalled subscriber was dropped). */
  const floodUntilDropped = async (topic: string): Promise<number> => {
    for (let i = 1; i <= 2_000; i++) {
      const ack = await publisher.call('publish', { topic, content: chunk });
      if (ack.recipients === 0) return i;
    }
    throw new Error('the stalled subscriber was never dropped');
  };

  beforeAll(async () => {
    gateway = await startGateway({ REDIS_KEY_PREFIX: uniquePrefix(), SEND_BUFFER_LIMIT_BYTES: '262144' });
    admin = adminClient(gateway);
    tenant = await admin.tenant();
    const me = await agent();
    publisher = await connectAgent(gateway.url, { token: me.token });
  }, 30_000);

  afterAll(async () => {
    publisher?.socket.close();
    await gateway?.stop();
    await db.end();
  });

  /** How often the gateway closed a session as a slow consumer, by its own counter. */
  const slowConsumerClosures = async (): Promise<number> => {
    const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    return Number(/^agw_disconnects_total\{reason="slow_consumer"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  // The gateway cuts a slow consumer that has not taken its close a second after it was sent: a
  // client that reads again at once (as soon as the flood reaches nobody) gets the reason; one that
  // reads again later does not.
  const GRACE_MS = 1_000;

  it('tells a plain WebSocket subscriber that stopped reading why (session_closed, 4509) once it reads again in time; the rest are still served', async () => {
    const slow = await agent();
    const ws = await connectWs(gateway.url, slow.token);
    expect(await ws.call('subscribe', { topic: 'firehose/ws' })).toMatchObject({ status: 'subscribed' });
    const before = await slowConsumerClosures();
    (ws.socket as unknown as WithTcp)._socket.pause();
    const published = await floodUntilDropped('firehose/ws');
    expect(published).toBeGreaterThan(8); // it was served until its buffer filled
    (ws.socket as unknown as WithTcp)._socket.resume();
    expect(await ws.next('session_closed')).toEqual({
      type: 'session_closed',
      reason: 'slow_consumer',
      message: 'the client did not read what the gateway sent it; reconnect and read faster',
      reconnect: true,
    });
    expect(await ws.closed).toEqual({ code: 4509, reason: 'slow_consumer' });
    expect(await slowConsumerClosures()).toBe(before + 1);
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    const lookup = await http('GET', `${gateway.url}/gateway/agents/${slow.id}`, { headers: { authorization: `Bearer ${slow.token}` } });
    expect(lookup.status).toBe(404);
    expect(await publisher.call('ping', {})).toEqual({ status: 'pong' });
  });

  it('cuts a plain WebSocket subscriber that does not read within the grace: it sees 1006, the gateway still records slow_consumer', async () => {
    const slow = await agent();
    const ws = await connectWs(gateway.url, slow.token);
    expect(await ws.call('subscribe', { topic: 'firehose/ws-cut' })).toMatchObject({ status: 'subscribed' });
    (ws.socket as unknown as WithTcp)._socket.pause();
    await floodUntilDropped('firehose/ws-cut');
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    // Time is the point: the client stays away past the grace.
    await new Promise((r) => setTimeout(r, GRACE_MS * 1.5));
    (ws.socket as unknown as WithTcp)._socket.resume();
    expect((await ws.closed).code).toBe(1006);
    expect(ws.frames.filter((f) => f.type === 'session_closed')).toEqual([]);
  });

  it('tells a socket.io subscriber that stopped reading why (session_closed) once it reads again in time', async () => {
    const slow = await agent();
    const io = await connectAgent(gateway.url, { token: slow.token });
    expect(await io.call('subscribe', { topic: 'firehose/io' })).toMatchObject({ status: 'subscribed' });
    const before = await slowConsumerClosures();
    const transport = io.socket.io.engine.transport as unknown as { ws: WithTcp };
    transport.ws._socket.pause();
    await floodUntilDropped('firehose/io');
    transport.ws._socket.resume();
    expect(await io.disconnected).toBe('io server disconnect');
    expect(io.closed).toEqual([
      { reason: 'slow_consumer', message: 'the client did not read what the gateway sent it; reconnect and read faster', reconnect: true },
    ]);
    expect(await slowConsumerClosures()).toBe(before + 1);
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    expect(await publisher.call('ping', {})).toEqual({ status: 'pong' });
  });

  it('cuts a socket.io subscriber that does not read within the grace; the gateway still records slow_consumer', async () => {
    const slow = await agent();
    const io = await connectAgent(gateway.url, { token: slow.token });
    expect(await io.call('subscribe', { topic: 'firehose/io-cut' })).toMatchObject({ status: 'subscribed' });
    const transport = io.socket.io.engine.transport as unknown as { ws: WithTcp };
    transport.ws._socket.pause();
    await floodUntilDropped('firehose/io-cut');
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    // Time is the point: the client stays away past the grace.
    await new Promise((r) => setTimeout(r, GRACE_MS * 1.5));
    transport.ws._socket.resume();
    expect(await io.disconnected).toBe('transport close');
    expect(io.closed).toEqual([]);
  });
});
