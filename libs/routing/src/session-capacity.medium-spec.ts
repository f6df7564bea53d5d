import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresentedCredentials } from '#libs/auth';
import { uniqueId } from '../../../test/support/env.js';
import { FakeConnection } from '../../../test/support/fake-connection.js';
import { startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { RoutingModule } from './routing.module.js';
import { SessionAdmission } from './sessions/session-admission.js';
import { SessionLifecycle } from './sessions/session-lifecycle.js';

// Real: the session use cases as the production RoutingModule wires it (inside ProcessModule), with
// MAX_CONNECTIONS=2, authentication `none`, presence and rate limits on a private redis-server,
// the medium Postgres database. Faked: the transports: the test calls admit / activate / abandon
// as socket.io and the plain WebSocket transport do, with FakeConnections.
describe('MAX_CONNECTIONS counts admissions still in progress', () => {
  let redis: TestRedis;
  let node: MediumNode;
  let admission: SessionAdmission;
  let sessions: SessionLifecycle;
  const credentials = (agentId: string): PresentedCredentials => ({
    claimedAgentId: agentId,
    remoteAddress: '127.0.0.1',
    transport: 'websocket',
  });
  const admit = (handshake: unknown = {}) => admission.admit(credentials(uniqueId('cap')), handshake);
  const full = { code: 'UNAVAILABLE', message: 'this gateway node is at capacity; retry later' };

  beforeAll(async () => {
    redis = await startTestRedis();
    node = await startMediumNode((config) => RoutingModule.forRoot(config), {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'medium-cap:',
      NODE_ID: 'cap-1',
      AUTH_METHODS: 'none',
      MAX_CONNECTIONS: '2',
    });
    admission = node.get(SessionAdmission);
    sessions = node.get(SessionLifecycle);
  });

  afterAll(async () => {
    await node?.close();
    await redis?.destroy();
  });

  it('admits at most MAX_CONNECTIONS of admissions that run together', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => admit()));
    const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(admitted).toHaveLength(2);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject(full);
    for (const a of admitted) admission.abandon(a);
  });

  it('holds a place from admission until the transport activates or abandons it; a refused admission holds none', async () => {
    const first = await admit();
    const second = await admit();
    await expect(admit()).rejects.toMatchObject(full);
    // A connection that never opened gives its place back.
    admission.abandon(first);
    const third = await admit();
    // Activated, both count as sessions.
    const live = [sessions.activate(second, new FakeConnection()), sessions.activate(third, new FakeConnection())];
    expect(sessions.size).toBe(2);
    await expect(admit()).rejects.toMatchObject(full);
    // One leaves; an admission refused after the capacity check (a bad handshake card) gives its place back.
    sessions.detach(live[0]!);
    await expect(admit({ capabilities: 'not a list' })).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    const fourth = await admit();
    sessions.activate(fourth, new FakeConnection());
    expect(sessions.size).toBe(2);
    await expect(admit()).rejects.toMatchObject(full);
  });
});
