import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs, openWs, type WsAgent } from './support/ws-agent.js';

// Two compiled gateways on one Redis prefix: A accepts 2 connections (MAX_CONNECTIONS=2), B 3.
// Real: both transports, the node registry behind the manifest (NODE_TIMEOUT_S=2), /metrics.
describe('MAX_CONNECTIONS', () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    const env = { AUTH_METHODS: 'none', REDIS_KEY_PREFIX: uniquePrefix(), NODE_TIMEOUT_S: '2' };
    [a, b] = await Promise.all([startGateway({ ...env, MAX_CONNECTIONS: '2' }), startGateway({ ...env, MAX_CONNECTIONS: '3' })]);
  });

  afterAll(async () => {
    for (const connection of open) connection.close();
    await Promise.all([a?.stop(), b?.stop('SIGKILL')]);
  });

  const io = async (gateway: GatewayProcess): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, { agentId: uniqueId('cap') });
    open.push({ close: () => agent.socket.close() });
    return agent;
  };
  const ws = async (gateway: GatewayProcess): Promise<WsAgent> => {
    const agent = await openWs(gateway.url, { query: { agent_id: uniqueId('cap-ws') } });
    open.push({ close: () => agent.socket.close() });
    return agent;
  };
  /** Live sessions on the node, as its own gauge says (both transports). */
  const sessions = async (gateway: GatewayProcess): Promise<number> => {
    const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    return [...text.matchAll(/^agw_sessions\{transport="[^"]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const capacity = async (gateway: GatewayProcess) => (await http('GET', `${gateway.url}/gateway/manifest`)).body.max_capacity;
  const full = { code: 'UNAVAILABLE', message: 'this gateway node is at capacity; retry later' };

  it('admits at most MAX_CONNECTIONS of connections that arrive together', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => io(a)));
    const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    try {
      expect(admitted).toHaveLength(2);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ data: full });
      expect(await sessions(a)).toBe(2);
    } finally {
      for (const agent of admitted) agent.socket.close();
      await waitFor(async () => (await sessions(a)) === 0, 5_000, 'the sessions to close');
    }
  });

  it('refuses the connection past it with UNAVAILABLE on both transports, and accepts again once one leaves', async () => {
    const first = await io(a);
    await connectWs(a.url, '', { agent_id: uniqueId('cap-ws') }).then((agent) => open.push({ close: () => agent.socket.close() }));
    expect(await sessions(a)).toBe(2);

    await expect(io(a)).rejects.toMatchObject({ data: full });
    const refused = await ws(a);
    expect(await refused.next('error')).toMatchObject(full);
    expect(await refused.closed).toEqual({ code: 4500, reason: 'UNAVAILABLE' });

    // One leaves; once the node has closed its session (its own gauge says so), a newcomer gets in.
    first.socket.close();
    await waitFor(async () => (await sessions(a)) === 1, 5_000, 'the node to see the agent leave');
    const newcomer = await ws(a);
    expect((await newcomer.next((f) => f.type === 'session' || f.type === 'error')).type).toBe('session');
    await expect(io(a)).rejects.toMatchObject({ data: full });
  });

  it('reports the sum over live nodes as max_capacity, and drops a node that died', async () => {
    await waitFor(async () => (await capacity(a)) === 5 && (await capacity(b)) === 5, 5_000, 'both nodes in the manifest');
    await b.stop('SIGKILL');
    // B's liveness entry expires after NODE_TIMEOUT_S (2 s); A then counts only itself.
    await waitFor(async () => (await capacity(a)) === 2, 6_000, 'the dead node to leave the manifest');
  });
});
