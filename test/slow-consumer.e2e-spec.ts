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

  it('closes a plain WebSocket subscriber that stopped reading, and keeps serving the rest', async () => {
    const slow = await agent();
    const ws = await connectWs(gateway.url, slow.token);
    expect(await ws.call('subscribe', { topic: 'firehose/ws' })).toMatchObject({ status: 'subscribed' });
    (ws.socket as unknown as WithTcp)._socket.pause();
    const published = await floodUntilDropped('firehose/ws');
    expect(published).toBeGreaterThan(8); // it was served until its buffer filled
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    const lookup = await http('GET', `${gateway.url}/gateway/agents/${slow.id}`, { headers: { authorization: `Bearer ${slow.token}` } });
    expect(lookup.status).toBe(404);
    (ws.socket as unknown as WithTcp)._socket.resume();
    expect([4509, 1006]).toContain((await ws.closed).code);
    expect(await publisher.call('ping', {})).toEqual({ status: 'pong' });
  });

  it('closes a socket.io subscriber that stopped reading', async () => {
    const slow = await agent();
    const io = await connectAgent(gateway.url, { token: slow.token });
    expect(await io.call('subscribe', { topic: 'firehose/io' })).toMatchObject({ status: 'subscribed' });
    const transport = io.socket.io.engine.transport as unknown as { ws: WithTcp };
    transport.ws._socket.pause();
    await floodUntilDropped('firehose/io');
    await waitFor(async () => (await disconnectReason(slow.id)) === 'slow_consumer', 10_000, 'the slow_consumer record');
    transport.ws._socket.resume();
    await io.disconnected;
    expect(await publisher.call('ping', {})).toEqual({ status: 'pong' });
  });
});
