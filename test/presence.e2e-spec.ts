import { afterEach, describe, expect, it } from 'vitest';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// Real gateway processes sharing one Redis prefix; presence lives in Redis, not in a process.
describe('presence and heartbeats', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  const track = <T extends GatewayProcess | TestAgent>(thing: T): T => {
    cleanup.push(() => {
      if ('socket' in thing) thing.socket.close();
      else return thing.stop('SIGKILL');
    });
    return thing;
  };
  const directory = async (gateway: GatewayProcess): Promise<string[]> => {
    const { body } = await http('GET', `${gateway.url}/gateway/agents`, { headers: { 'x-agent-id': 'observer' } });
    return (body.agents as { agent_id: string }[]).map((a) => a.agent_id);
  };

  it('disconnects a silent agent after the heartbeat time-out and removes it from the directory', async () => {
    const gateway = track(await startGateway({ AUTH_METHODS: 'none', HEARTBEAT_INTERVAL_S: '1', HEARTBEAT_TIMEOUT_S: '2' }));
    const silent = track(await connectAgent(gateway.url, { agentId: uniqueId('silent') }));
    const chatty = track(await connectAgent(gateway.url, { agentId: uniqueId('chatty') }));
    const beat = setInterval(() => void chatty.call('heartbeat', {}).catch(() => undefined), 500);
    cleanup.push(() => clearInterval(beat));
    expect(await directory(gateway)).toEqual(expect.arrayContaining([silent.session.agent.agent_id, chatty.session.agent.agent_id]));
    const started = Date.now();
    await silent.disconnected;
    const elapsed = Date.now() - started;
    expect(silent.closed).toEqual([{ reason: 'heartbeat_timeout', message: 'no heartbeat for 2 s', reconnect: true }]);
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    const listed = await directory(gateway);
    expect(listed).not.toContain(silent.session.agent.agent_id);
    expect(listed).toContain(chatty.session.agent.agent_id);
    expect(chatty.socket.connected).toBe(true);
  });

  it('drops the agents of a node that died (SIGKILL) once their heartbeat time-out passes', async () => {
    const prefix = uniquePrefix();
    const env = { AUTH_METHODS: 'none', HEARTBEAT_INTERVAL_S: '1', HEARTBEAT_TIMEOUT_S: '2', REDIS_KEY_PREFIX: prefix };
    const doomed = track(await startGateway(env));
    const survivor = track(await startGateway(env));
    const orphan = track(await connectAgent(doomed.url, { agentId: uniqueId('orphan') }));
    await waitFor(async () => (await directory(survivor)).includes(orphan.session.agent.agent_id), 2_000, 'the orphan in the directory');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    await waitFor(
      async () => !(await directory(survivor)).includes(orphan.session.agent.agent_id),
      5_000,
      'the orphan to leave the directory',
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual(2_000 + 1_000);
    const sender = track(await connectAgent(survivor.url, { agentId: uniqueId('sender') }));
    expect(await sender.call('send', { to_agent_id: orphan.session.agent.agent_id, content: [{ type: 'text', text: 'x' }] })).toMatchObject(
      { error: { code: 'AGENT_NOT_FOUND' } },
    );
  });

  describe('a node that stops refreshing its liveness (NODE_TIMEOUT_S) is dead for the others at once', () => {
    // A long heartbeat time-out, so that only node liveness can explain what the survivor sees,
    // and a long delivery time-out, so that a send waiting on the dead node would outlast the test.
    const env = (prefix: string) => ({
      AUTH_METHODS: 'none',
      HEARTBEAT_INTERVAL_S: '30',
      HEARTBEAT_TIMEOUT_S: '120',
      NODE_TIMEOUT_S: '3',
      DELIVERY_TIMEOUT_MS: '60000',
      REDIS_KEY_PREFIX: prefix,
    });
    const send = (from: TestAgent, to: string) => from.call('send', { to_agent_id: to, content: [{ type: 'text', text: 'x' }] }, 8_000);

    it('SIGKILL: its agents leave the directory within NODE_TIMEOUT_S and a send to them is AGENT_NOT_FOUND', async () => {
      const prefix = uniquePrefix();
      const doomed = track(await startGateway(env(prefix)));
      const survivor = track(await startGateway(env(prefix)));
      const orphan = track(await connectAgent(doomed.url, { agentId: uniqueId('orphan') }));
      const sender = track(await connectAgent(survivor.url, { agentId: uniqueId('sender') }));
      const id = orphan.session.agent.agent_id;
      expect(await send(sender, id)).toMatchObject({ status: 'delivered' });
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await waitFor(async () => !(await directory(survivor)).includes(id), 3_000 + 3_000, 'the orphan to leave the directory');
      expect(await send(sender, id)).toMatchObject({ error: { code: 'AGENT_NOT_FOUND', message: `agent "${id}" is not connected` } });
      // The directory drops a dead node's agents as soon as the survivor reads the node registry; the
      // reaper removes their entries right after in the same tick and then logs it (a line that may
      // arrive after the send's answer on a busy machine).
      const reaped = /stopped refreshing for 3 s: 1 of its agents removed from the directory/;
      await waitFor(() => reaped.test(survivor.output.join('\n')), 3_000, "the reaper's log line");
    });

    it('SIGSTOP (a frozen node, its connections to Redis still open): the same, and it comes back announced when it resumes', async () => {
      const prefix = uniquePrefix();
      const frozen = track(await startGateway(env(prefix)));
      const survivor = track(await startGateway(env(prefix)));
      const stranded = track(await connectAgent(frozen.url, { agentId: uniqueId('stranded') }));
      const sender = track(await connectAgent(survivor.url, { agentId: uniqueId('sender') }));
      const id = stranded.session.agent.agent_id;
      expect(await send(sender, id)).toMatchObject({ status: 'delivered' });
      frozen.child.kill('SIGSTOP');
      cleanup.push(() => void frozen.child.kill('SIGCONT'));
      await waitFor(async () => !(await directory(survivor)).includes(id), 3_000 + 3_000, 'the stranded agent to leave the directory');
      // Redis still counts the frozen node's subscription, so only its liveness tells it is gone.
      expect(await send(sender, id)).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
      frozen.child.kill('SIGCONT');
      await waitFor(async () => (await directory(survivor)).includes(id), 5_000, 'the agent back in the directory');
      await waitFor(async () => (await send(sender, id)).status === 'delivered', 5_000, 'a delivery to the resumed node');
    });
  });

  it('removes an agent from the directory as soon as it disconnects', async () => {
    const gateway = track(await startGateway({ AUTH_METHODS: 'none' }));
    const agent = await connectAgent(gateway.url, { agentId: uniqueId('leaver') });
    expect(await directory(gateway)).toContain(agent.session.agent.agent_id);
    agent.socket.close();
    await waitFor(async () => !(await directory(gateway)).includes(agent.session.agent.agent_id), 2_000, 'the leaver to leave');
  });
});
