import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash, jobRecords, uuidv7, type AuditRecord } from '#libs/audit';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, provisionAgent, waitFor, type TestAgent } from './support/agents.js';
import { auditQueueDrained as drained, stagedEntries, withAuditQueue as withQueue } from './support/audit-queue.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueId, uniquePrefix } from './support/env.js';
import { AUDIT_WORKER_MAIN, startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTcpProxy } from './support/tcp-proxy.js';

// Real gateway processes writing their audit trail through BullMQ (Redis) into the real Postgres.
describe('audit trail (contract §8)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const count = async (tenant: string, action = 'message.routed'): Promise<number> =>
    Number(
      (await db.query<{ count: string }>('SELECT count(*) FROM audit_records WHERE tenant_id = $1 AND action = $2', [tenant, action]))
        .rows[0]?.count,
    );

  afterAll(async () => {
    await db.end();
  });

  /** A tenant with a sender and a receiver connected to `gateway`. */
  const pair = async (gateway: GatewayProcess, admin: AdminClient): Promise<{ tenant: string; sender: TestAgent; receiver: TestAgent }> => {
    const tenant = await admin.tenant();
    const [s, r] = [await admin.agent(tenant), await admin.agent(tenant)];
    const receiver = await connectAgent(gateway.url, { agentId: r, token: (await admin.token(r)).token });
    const sender = await connectAgent(gateway.url, { agentId: s, token: (await admin.token(s)).token });
    return { tenant, sender, receiver };
  };

  /** Sends `total` messages, `inflight` at a time; returns the message ids acknowledged `delivered`. */
  const burst = async (
    sender: TestAgent,
    to: string,
    total: number,
    inflight = 100,
    onProgress?: (sent: number) => void,
  ): Promise<string[]> => {
    const delivered: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      // Stops when the connection is gone (a gateway stopped mid-burst) instead of waiting out acks.
      while (next < total && sender.socket.connected) {
        const i = next++;
        onProgress?.(i);
        const ack = await sender.call('send', { to_agent_id: to, content: [{ type: 'text', text: `m${i}` }] }, 20_000).catch(() => ({}));
        if ((ack as { status?: string }).status === 'delivered') delivered.push((ack as { message_id: string }).message_id);
      }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    return delivered;
  };

  describe('with one gateway', () => {
    let gateway: GatewayProcess;
    let admin: AdminClient;

    beforeAll(async () => {
      gateway = await startGateway({});
      admin = adminClient(gateway);
    });

    afterAll(async () => {
      await gateway?.stop();
    });

    it('has exactly one message.routed record per delivered message after a burst of 10,000', async () => {
      const { tenant, sender, receiver } = await pair(gateway, admin);
      const delivered = await burst(sender, receiver.session.agent.agent_id, 10_000, 200);
      expect(delivered).toHaveLength(10_000);
      await drained(gateway.env.REDIS_KEY_PREFIX ?? '');
      expect(await count(tenant)).toBe(10_000);
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(DISTINCT details->>'message_id') AS n FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
        [tenant],
      );
      expect(Number(rows[0]?.n)).toBe(10_000);
      expect((await admin.call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({ ok: true });
      sender.socket.close();
      receiver.socket.close();
    }, 120_000);

    it('keeps content out (its SHA-256 in), and never a secret', async () => {
      const { tenant, sender, receiver } = await pair(gateway, admin);
      const content = [{ type: 'text', text: 'the quarterly numbers' }];
      const ack = await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content });
      await waitFor(async () => (await count(tenant)) === 1, 10_000, 'the record');
      const { rows } = await db.query<Record<string, unknown>>(
        "SELECT * FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
        [tenant],
      );
      expect(rows[0]?.details).toMatchObject({
        message_id: ack.message_id,
        conversation_id: ack.conversation_id,
        content_bytes: JSON.stringify(content).length,
        content_sha256: createHash('sha256').update(JSON.stringify(content)).digest('hex'),
      });
      expect(JSON.stringify(rows[0])).not.toContain('quarterly');
      // The token issued by the admin API is in no record, only its hint.
      const agent = await admin.agent(tenant);
      const { token } = await admin.token(agent);
      await waitFor(async () => (await count(tenant, 'credential.created')) === 3, 10_000, 'the credential records');
      const all = await db.query<{ r: string }>('SELECT r::text AS r FROM audit_records r WHERE tenant_id = $1', [tenant]);
      expect(all.rows.length).toBeGreaterThan(4);
      expect(all.rows.map((row) => row.r).join('\n')).not.toContain(token.slice(4));
      sender.socket.close();
      receiver.socket.close();
    });

    it('records a routed result like a routed message, in the sender of the result', async () => {
      const { tenant, sender, receiver } = await pair(gateway, admin);
      const ack = await sender.call('send', {
        to_agent_id: receiver.session.agent.agent_id,
        content: [{ type: 'text', text: 'q' }],
        expect_result: true,
      });
      const answer = { answer: 42 };
      expect(await receiver.call('result', { conversation_id: ack.conversation_id, success: true, result: answer })).toEqual({
        status: 'delivered',
      });
      await waitFor(async () => (await count(tenant)) === 2, 10_000, 'both records');
      const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=message.routed`);
      expect(page.body.items).toEqual([
        expect.objectContaining({
          actor: { type: 'agent', id: receiver.session.agent.agent_id },
          subject: sender.session.agent.agent_id,
          details: expect.objectContaining({
            kind: 'result',
            conversation_id: ack.conversation_id,
            success: true,
            content_sha256: createHash('sha256')
              .update(JSON.stringify({ result: answer, error: null }))
              .digest('hex'),
          }),
        }),
        expect.objectContaining({
          actor: { type: 'agent', id: sender.session.agent.agent_id },
          details: expect.objectContaining({ message_id: ack.message_id }),
        }),
      ]);
      sender.socket.close();
      receiver.socket.close();
    });

    it('keeps the content too when AUDIT_PAYLOADS=true', async () => {
      const keeper = await startGateway({ AUDIT_PAYLOADS: 'true' });
      try {
        const { tenant, sender, receiver } = await pair(keeper, adminClient(keeper));
        const content = [{ type: 'text', text: 'kept on purpose' }];
        await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content });
        await waitFor(async () => (await count(tenant)) === 1, 10_000, 'the record');
        const { rows } = await db.query<{ details: Record<string, unknown> }>(
          "SELECT details FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
          [tenant],
        );
        expect(rows[0]?.details).toMatchObject({
          content,
          content_sha256: createHash('sha256').update(JSON.stringify(content)).digest('hex'),
        });
        sender.socket.close();
        receiver.socket.close();
      } finally {
        await keeper.stop();
      }
    });

    it('records admin mutations with the actor and the state before and after, and every denial', async () => {
      const tenant = await admin.tenant();
      const agentId = await admin.agent(tenant, { capabilities: ['a', 'b'] });
      await admin.call('PATCH', `/admin/v1/agents/${agentId}`, { capabilities: ['a'] });
      await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, { rules: [{ effect: 'allow', actions: ['publish'] }] });
      const other = await admin.agent(tenant);
      const a = await connectAgent(gateway.url, { agentId, token: (await admin.token(agentId)).token });
      const b = await connectAgent(gateway.url, { agentId: other, token: (await admin.token(other)).token });
      expect(await a.call('send', { to_agent_id: other, content: [{ type: 'text', text: 'x' }] })).toMatchObject({
        error: { code: 'FORBIDDEN' },
      });
      await expect(connectAgent(gateway.url, { agentId, token: `agt_${'z'.repeat(43)}` })).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
      await waitFor(async () => (await count(tenant, 'message.denied')) === 1, 10_000, 'the denial');
      // Messages refused before or after the guards are recorded too.
      expect(await a.call('send', { to_agent_id: 'nobody-here', content: [{ type: 'text', text: 'x' }] })).toMatchObject({
        error: { code: 'AGENT_NOT_FOUND' },
      });
      expect(await a.call('send', { to_agent_id: other, content: 'not a list' })).toMatchObject({ error: { code: 'INVALID_MESSAGE' } });
      await waitFor(async () => (await count(tenant, 'message.denied')) === 3, 10_000, 'the refusals');
      const refusals = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=message.denied&limit=2`);
      expect(refusals.body.items).toEqual([
        expect.objectContaining({
          subject: other,
          outcome: 'denied',
          reason: 'INVALID_MESSAGE',
          details: expect.objectContaining({ event: 'send' }),
        }),
        expect.objectContaining({ subject: 'nobody-here', outcome: 'denied', reason: 'AGENT_NOT_FOUND' }),
      ]);
      const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=agent.updated`);
      expect(page.body.items).toEqual([
        expect.objectContaining({
          action: 'agent.updated',
          actor: { type: 'admin', id: 'break-glass' },
          subject: agentId,
          outcome: 'allowed',
          details: {
            before: expect.objectContaining({ capabilities: ['a', 'b'] }),
            after: expect.objectContaining({ capabilities: ['a'] }),
          },
        }),
      ]);
      const denied = await admin.call(
        'GET',
        `/admin/v1/audit?tenant_id=${tenant}&action=message.denied&limit=1&cursor=${String(refusals.body.next_cursor)}`,
      );
      expect(denied.body.items).toEqual([
        expect.objectContaining({
          actor: { type: 'agent', id: agentId },
          subject: other,
          outcome: 'denied',
          reason: 'no_allow_rule',
          session_id: a.session.session_id,
          remote_addr: expect.any(String),
        }),
      ]);
      const policy = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=policy.updated`);
      expect(policy.body.items).toEqual([
        expect.objectContaining({ details: expect.objectContaining({ after: expect.objectContaining({ version: 1 }) }) }),
      ]);
      const { rows } = await db.query<{ count: string }>(
        "SELECT count(*) FROM audit_records WHERE action = 'agent.connect_denied' AND actor_id = $1",
        [agentId],
      );
      expect(Number(rows[0]?.count)).toBeGreaterThanOrEqual(1);
      a.socket.close();
      b.socket.close();
    });

    it("records the operator CLI's changes with the CLI user as the actor", async () => {
      const tenant = uniqueId('cli');
      const agentId = uniqueId('cli-agent');
      await provisionAgent(agentId, tenant, { redisKeyPrefix: gateway.env.REDIS_KEY_PREFIX });
      await waitFor(async () => (await count(tenant, 'credential.created')) === 1, 10_000, 'the CLI records');
      const { rows } = await db.query<{ action: string; actor_type: string; actor_id: string; subject: string }>(
        'SELECT action, actor_type, actor_id, subject FROM audit_records WHERE tenant_id = $1 ORDER BY seq',
        [tenant],
      );
      expect(rows.map((r) => [r.action, r.subject])).toEqual([
        ['tenant.created', tenant],
        ['agent.created', agentId],
        ['credential.created', agentId],
      ]);
      for (const row of rows) expect(row).toMatchObject({ actor_type: 'admin', actor_id: expect.stringMatching(/^cli:/) });
    });

    it('filters by tenant, agent, action and time, newest first, in cursor pages', async () => {
      const { tenant, sender, receiver } = await pair(gateway, admin);
      const before = new Date().toISOString();
      for (let i = 0; i < 5; i++)
        await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content: [{ type: 'text', text: `${i}` }] });
      await waitFor(async () => (await count(tenant)) === 5, 10_000, 'five records');
      const seen: { id: string; timestamp: string; action: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: Record<string, unknown> } = await admin.call(
          'GET',
          `/admin/v1/audit?tenant_id=${tenant}&action=message.routed&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...(page.body.items as typeof seen));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(seen).toHaveLength(5);
      expect(seen.map((r) => r.timestamp)).toEqual([...seen.map((r) => r.timestamp)].sort().reverse());
      const byAgent = await admin.call('GET', `/admin/v1/audit?agent_id=${receiver.session.agent.agent_id}&action=message.routed`);
      expect(byAgent.body.items).toHaveLength(5);
      expect(
        (await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&since=${new Date(Date.now() + 60_000).toISOString()}`)).body.items,
      ).toEqual([]);
      expect((await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=message.routed&until=${before}`)).body.items).toEqual([]);
      expect(await admin.call('GET', '/admin/v1/audit?action=bogus')).toMatchObject({ status: 400 });
      sender.socket.close();
      receiver.socket.close();
    });

    it('detects an edited row and a deleted row, naming the first bad record', async () => {
      const make = async (): Promise<string> => {
        const { tenant, sender, receiver } = await pair(gateway, admin);
        for (let i = 0; i < 6; i++)
          await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content: [{ type: 'text', text: `${i}` }] });
        await waitFor(async () => (await count(tenant)) === 6, 10_000, 'six records');
        sender.socket.close();
        receiver.socket.close();
        return tenant;
      };
      const edited = await make();
      const deleted = await make();
      const verify = async (tenant: string) => (await admin.call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body;
      const seqOf = async (tenant: string, seq: number) =>
        (await db.query<{ id: string }>('SELECT id FROM audit_records WHERE tenant_id = $1 AND seq = $2', [tenant, seq])).rows[0]?.id;
      expect(await verify(edited)).toMatchObject({ ok: true });

      const victim = await seqOf(edited, 4);
      await db.query(`UPDATE audit_records SET details = details || '{"conversation_id":"rewritten"}' WHERE id = $1`, [victim]);
      expect(await verify(edited)).toMatchObject({ ok: false, first_bad_id: victim, first_bad_seq: 4, problem: 'hash_mismatch' });

      const gone = await seqOf(deleted, 3);
      const after = await seqOf(deleted, 4);
      await db.query('DELETE FROM audit_records WHERE id = $1', [gone]);
      expect(await verify(deleted)).toMatchObject({ ok: false, first_bad_id: after, first_bad_seq: 3, problem: 'missing_records' });
    });

    it('checks a chain in bounded calls resumed by cursor, with the verdict of one call, and refuses a garbage cursor', async () => {
      // A chain of 25 records written straight into Postgres (correctly chained), for a tenant no
      // gateway writes to: nothing else moves it while the test walks it.
      const tenant = uniqueId('walk');
      let prev = GENESIS_HASH;
      const start = Date.now() - 60_000;
      for (let seq = 1; seq <= 25; seq++) {
        const record: AuditRecord = {
          id: uuidv7(),
          timestamp: new Date(start + seq).toISOString(),
          tenant_id: tenant,
          action: 'message.routed',
          actor: { type: 'agent', id: 'sender' },
          subject: 'receiver',
          outcome: 'allowed',
          reason: null,
          session_id: null,
          remote_addr: null,
          node_id: 'test',
          details: { n: seq },
        };
        const hash = chainHash(prev, record, seq);
        await db.query(
          `INSERT INTO audit_records (id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, node_id, details, prev_hash, hash)
           VALUES ($1, $2, $3, $3, $4, $5, 'agent', 'sender', 'receiver', 'allowed', 'test', $6, $7, $8)`,
          [record.id, seq, tenant, record.timestamp, record.action, JSON.stringify(record.details), prev, hash],
        );
        prev = hash;
      }
      await db.query('INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 25, $2)', [tenant, prev]);
      const verify = async (query: string) => admin.call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}&${query}`);
      /** Every answer of a walk in calls of `limit` records, following next_cursor. */
      const walk = async (limit: number): Promise<Record<string, unknown>[]> => {
        const answers: Record<string, unknown>[] = [];
        let cursor: string | null = null;
        do {
          const { status, body } = await verify(`limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          expect(status, JSON.stringify(body)).toBe(200);
          expect(body.checked).toBeLessThanOrEqual(limit);
          answers.push(body);
          cursor = body.next_cursor as string | null;
        } while (cursor && answers.length < 50);
        return answers;
      };
      const verdict = (answers: Record<string, unknown>[]) => ({
        ...answers.at(-1),
        checked: answers.reduce((sum, a) => sum + Number(a.checked), 0),
      });

      expect((await verify('')).body).toEqual({ ok: true, checked: 25, complete: true, next_cursor: null });
      const paged = await walk(4);
      expect(paged).toHaveLength(7);
      expect(paged[0]).toEqual({ ok: true, checked: 4, complete: false, next_cursor: expect.any(String) });
      expect(verdict(paged)).toEqual({ ok: true, checked: 25, complete: true, next_cursor: null });

      // Record 18 edited: the fifth call of four records finds it, as one call does.
      await db.query(`UPDATE audit_records SET details = '{"n":"rewritten"}' WHERE chain_key = $1 AND seq = 18`, [tenant]);
      const one = (await verify('limit=1000000')).body;
      expect(one).toMatchObject({ ok: false, checked: 17, complete: true, next_cursor: null, first_bad_seq: 18, problem: 'hash_mismatch' });
      const broken = await walk(4);
      expect(broken).toHaveLength(5);
      expect(broken.slice(0, 4).every((a) => a.ok === true && a.complete === false)).toBe(true);
      expect(verdict(broken)).toEqual(one);

      // Garbage, another list's cursor, and limits out of range.
      const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&limit=1`);
      for (const cursor of [
        'eHx5',
        '!!!',
        String(page.body.next_cursor),
        Buffer.from(JSON.stringify(['audit-verify', tenant, '3', 'x'])).toString('base64url'),
      ]) {
        expect(await verify(`cursor=${encodeURIComponent(cursor)}`), cursor).toMatchObject({
          status: 400,
          body: { error: { code: 'INVALID_MESSAGE', message: 'cursor: not a cursor this API returned' } },
        });
      }
      // A cursor of this walk used on another tenant's.
      const other = await admin.call(
        'GET',
        `/admin/v1/audit/verify?tenant_id=${uniqueId('other')}&cursor=${String(paged[0]?.next_cursor)}`,
      );
      expect(other).toMatchObject({ status: 400, body: { error: { code: 'INVALID_MESSAGE' } } });
      for (const limit of ['0', '1000001', 'many'])
        expect(await verify(`limit=${limit}`), limit).toMatchObject({
          status: 400,
          body: { error: { message: expect.stringMatching(/^limit: /) } },
        });
    });

    it('exports NDJSON and CSV, streamed: 200,000 rows (more than the heap) through a gateway with an 80 MB heap', async () => {
      const tenant = uniqueId('bulk');
      // A second boundary a day ago: well inside any retention, so no gateway purges it mid-test.
      const BASE = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
      await db.query(
        `INSERT INTO audit_records (id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, node_id, details, prev_hash, hash)
         SELECT gen_random_uuid(), g, $1, $1, $2::timestamptz - (g || ' ms')::interval, 'message.routed', 'agent', 'a', 'b', 'allowed', 'n', jsonb_build_object('message_id', g::text, 'pad', repeat('x', 200)), '0', '0'
         FROM generate_series(1, 200000) g`,
        [tenant, BASE.toISOString()],
      );
      // The export alone is larger than this gateway's whole heap (--max-old-space-size=80): a
      // buffering implementation dies of out-of-memory; a streaming one answers every row.
      const small = await startGateway({ NODE_OPTIONS: '--max-old-space-size=80', AUDIT_WORKER: 'false' });
      const response = await fetch(`${small.adminUrl}/admin/v1/audit/export?tenant_id=${tenant}&format=ndjson`, {
        headers: adminHeaders(),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/x-ndjson');
      let lines = 0;
      let bytes = 0;
      let first: Record<string, unknown> | null = null;
      let buffered = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        buffered += Buffer.from(chunk).toString();
        let newline;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          if (!first) first = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
          buffered = buffered.slice(newline + 1);
          lines++;
        }
      }
      expect(lines).toBe(200_000);
      expect(bytes).toBeGreaterThan(90 * 1024 * 1024);
      expect(small.child.exitCode).toBeNull();
      expect(first).toMatchObject({ tenant_id: tenant, action: 'message.routed', details: { message_id: '1' } });

      // CSV of the newest 1,000 (since is inclusive): header, then one line per record.
      const since = new Date(BASE.getTime() - 1_000).toISOString();
      const csv = await fetch(`${small.adminUrl}/admin/v1/audit/export?tenant_id=${tenant}&format=csv&since=${since}`, {
        headers: adminHeaders(),
      });
      expect(csv.headers.get('content-type')).toContain('text/csv');
      const rows = (await csv.text()).trimEnd().split('\n');
      await small.stop();
      expect(rows[0]).toBe(
        'id,timestamp,tenant_id,action,actor_type,actor_id,subject,outcome,reason,session_id,remote_addr,node_id,seq,prev_hash,hash,details',
      );
      expect(rows).toHaveLength(1_001);
      expect(rows[1]).toMatch(
        new RegExp(
          `^[0-9a-f-]{36},${new Date(BASE.getTime() - 1).toISOString()},${tenant},message.routed,agent,a,b,allowed,,,,n,1,0,0,"{""pad"":""x{200}"",""message_id"":""1""}"$`,
        ),
      );
      await db.query('DELETE FROM audit_records WHERE chain_key = $1', [tenant]);
    }, 120_000);
  });

  it('purges records past AUDIT_RETENTION_DAYS and anchors the chain, so verify still passes', async () => {
    const first = await startGateway({});
    const { tenant, sender, receiver } = await pair(first, adminClient(first));
    for (let i = 0; i < 6; i++)
      await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content: [{ type: 'text', text: `${i}` }] });
    await waitFor(async () => (await count(tenant)) === 6, 10_000, 'six records');
    sender.socket.close();
    receiver.socket.close();
    await first.stop();
    // Everything up to the third routed message (admin records, connects, three messages) becomes
    // 40 days old. The agent and admin planes queue their records apart, so an admin record can be
    // chained between two messages: the cut is at the third message's own seq.
    await db.query(
      `UPDATE audit_records SET "timestamp" = "timestamp" - interval '40 days'
        WHERE chain_key = $1 AND seq <= (SELECT seq FROM audit_records WHERE chain_key = $1 AND action = 'message.routed' ORDER BY seq OFFSET 2 LIMIT 1)`,
      [tenant],
    );
    const old = await db.query<{ seq: string; hash: string }>(
      `SELECT seq, hash FROM audit_records WHERE chain_key = $1 AND "timestamp" < now() - interval '30 days' ORDER BY seq DESC LIMIT 1`,
      [tenant],
    );
    const purger = await startGateway({ AUDIT_RETENTION_DAYS: '30' });
    try {
      await waitFor(async () => (await count(tenant)) === 3, 15_000, 'the purge');
      const anchor = await db.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_chain_anchors WHERE chain_key = $1', [
        tenant,
      ]);
      expect(anchor.rows).toEqual(old.rows);
      expect(purger.output.join('\n')).toMatch(/retention: purged \d+ audit record\(s\)/);
      expect((await adminClient(purger).call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({
        ok: true,
        checked: expect.any(Number),
      });
      // Deleting the oldest remaining record is still caught: the chain no longer starts at the anchor.
      await db.query(`DELETE FROM audit_records WHERE chain_key = $1 AND seq = $2`, [tenant, Number(anchor.rows[0]?.seq) + 1]);
      expect((await adminClient(purger).call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({
        ok: false,
        problem: 'missing_records',
      });
    } finally {
      await purger.stop();
    }
  });

  it('writes through apps/audit-worker when the gateway runs without its writer', async () => {
    const prefix = uniquePrefix();
    const gateway = await startGateway({ REDIS_KEY_PREFIX: prefix, AUDIT_WORKER: 'false' });
    let worker: GatewayProcess | null = null;
    try {
      const { tenant, sender, receiver } = await pair(gateway, adminClient(gateway));
      expect(await burst(sender, receiver.session.agent.agent_id, 200, 20)).toHaveLength(200);
      // Nothing takes them: all 200 records come to wait in the queue (staged first, queued within
      // AUDIT_JOB_MS), none is in Postgres.
      const waiting = async (): Promise<number> =>
        withQueue(
          prefix,
          async (queue) =>
            (await queue.getJobs(['wait'], 0, -1))
              .flatMap((job) => jobRecords(job.data))
              .filter((record) => record.tenant_id === tenant && record.action === 'message.routed').length,
        );
      await waitFor(async () => (await waiting()) === 200, 5_000, 'the 200 records to be queued');
      expect(await withQueue(prefix, (queue) => queue.getActiveCount())).toBe(0);
      expect(await count(tenant)).toBe(0);
      worker = await startGateway({ REDIS_KEY_PREFIX: prefix }, AUDIT_WORKER_MAIN);
      await waitFor(async () => (await count(tenant)) === 200, 15_000, 'the audit worker to write the queued records');
      expect(worker.output.join('\n')).toContain('"role":"audit-worker"');
      sender.socket.close();
      receiver.socket.close();
    } finally {
      await worker?.stop();
      await gateway.stop();
    }
  });

  it('writes the records a SIGKILLed gateway had staged but not yet queued, once its lease is gone (a writer takes over its stream)', async () => {
    const prefix = uniquePrefix();
    // Staged records wait up to a second for their queue job: the kill comes inside that second.
    const gateway = await startGateway({ REDIS_KEY_PREFIX: prefix, AUDIT_WORKER: 'false', AUDIT_JOB_MS: '1000' });
    const redis = new Redis(TEST_REDIS_URL);
    let worker: GatewayProcess | null = null;
    try {
      const { tenant, sender, receiver } = await pair(gateway, adminClient(gateway));
      const delivered = await burst(sender, receiver.session.agent.agent_id, 100, 20);
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      expect(delivered).toHaveLength(100);
      // Acknowledged, so in Redis: some only in the dead gateway's staging stream, not in a job.
      const queued = await withQueue(prefix, async (queue) =>
        (await queue.getJobs(['wait'], 0, -1)).flatMap((job) => jobRecords(job.data)).filter((r) => r.action === 'message.routed'),
      );
      expect(await stagedEntries(redis, prefix)).toBeGreaterThan(0);
      expect(queued.length).toBeLessThan(100);
      // Its producers (agent plane and admin plane): their leases would run out 15 s after their
      // last renewal; this ends them now.
      const dead = await redis.smembers(`${prefix}audit:lines`);
      expect(dead.length).toBeGreaterThan(0);
      for (const instance of dead) await redis.del(`${prefix}audit:lines:{${instance}}:alive`);
      // The next gateway's writer takes the stream over (its first sweep runs at start).
      worker = await startGateway({ REDIS_KEY_PREFIX: prefix });
      await drained(prefix, 30_000);
      const { rows } = await db.query<{ id: string }>(
        "SELECT details->>'message_id' AS id FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
        [tenant],
      );
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(delivered));
      expect(rows).toHaveLength(100);
      expect(worker.output.join('\n')).toMatch(/took over \d+ audit record\(s\) staged by/);
      for (const instance of dead) {
        expect(await redis.sismember(`${prefix}audit:lines`, instance)).toBe(0);
        expect(await redis.exists(`${prefix}audit:lines:{${instance}}`, `${prefix}audit:lines:{${instance}}:swept`)).toBe(0);
      }
      expect((await adminClient(worker).call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({ ok: true });
      sender.socket.close();
      receiver.socket.close();
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
      redis.disconnect();
      await worker?.stop();
    }
  }, 90_000);

  it("takes over a SIGKILLed gateway's stream without the record of a delivery that failed, with that of one still in delivery", async () => {
    const prefix = uniquePrefix();
    const gateway = await startGateway({ REDIS_KEY_PREFIX: prefix, AUDIT_WORKER: 'false', DELIVERY_TIMEOUT_MS: '20000' });
    const redis = new Redis(TEST_REDIS_URL);
    let worker: GatewayProcess | null = null;
    try {
      const admin = adminClient(gateway);
      const { tenant, sender, receiver } = await pair(gateway, admin);
      /** An agent that never acknowledges a message; the message ids it was given. */
      const silent = async (): Promise<{ agentId: string; agent: TestAgent; got: string[] }> => {
        const agentId = await admin.agent(tenant);
        const got: string[] = [];
        const agent = await connectAgent(gateway.url, {
          agentId,
          token: (await admin.token(agentId)).token,
          onMessage: (message) => void got.push(message.message_id),
        });
        return { agentId, agent, got };
      };
      const [pending, failing] = [await silent(), await silent()];
      // Still in delivery when the gateway dies: its record, staged when the delivery began, holds
      // the stream's later entries in Redis (they are not trimmed before it is settled).
      void sender.call('send', { to_agent_id: pending.agentId, content: [{ type: 'text', text: 'wait' }] }, 30_000).catch(() => undefined);
      await waitFor(() => pending.got.length === 1, 5_000, 'the pending delivery');
      // Fails: its recipient goes away without acknowledging it, so its record is withdrawn.
      const failed = sender.call('send', { to_agent_id: failing.agentId, content: [{ type: 'text', text: 'gone' }] });
      await waitFor(() => failing.got.length === 1, 5_000, 'the failing delivery');
      await new Promise((r) => setTimeout(r, 100));
      failing.agent.socket.close();
      expect(await failed).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
      const delivered = await burst(sender, receiver.session.agent.agent_id, 3, 1);
      expect(delivered).toHaveLength(3);
      // The `message.denied` record of the failure reaches the stream within AUDIT_BATCH_MS.
      await new Promise((r) => setTimeout(r, 200));
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      const dead = await redis.smembers(`${prefix}audit:lines`);
      const entries = (await Promise.all(dead.map((instance) => redis.xrange(`${prefix}audit:lines:{${instance}}`, '-', '+')))).flat();
      expect(entries.filter(([, fields]) => fields[0] === 'w')).toHaveLength(1);
      for (const instance of dead) await redis.del(`${prefix}audit:lines:{${instance}}:alive`);

      worker = await startGateway({ REDIS_KEY_PREFIX: prefix });
      await drained(prefix, 30_000);
      await waitFor(() => worker!.output.some((line) => /took over \d+ audit record\(s\) staged by/.test(line)), 10_000, 'the takeover');
      const { rows } = await db.query<{ action: string; subject: string; reason: string | null; id: string | null }>(
        "SELECT action, subject, reason, details->>'message_id' AS id FROM audit_records WHERE tenant_id = $1 AND action IN ('message.routed', 'message.denied')",
        [tenant],
      );
      const routed = rows.filter((r) => r.action === 'message.routed').map((r) => r.id);
      expect(routed.sort()).toEqual([...delivered, pending.got[0]].sort());
      expect(routed).not.toContain(failing.got[0]);
      expect(rows.filter((r) => r.action === 'message.denied')).toEqual([
        { action: 'message.denied', subject: failing.agentId, reason: 'AGENT_NOT_FOUND', id: null },
      ]);
      expect((await adminClient(worker).call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({ ok: true });
      for (const agent of [sender, receiver, pending.agent]) agent.socket.close();
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
      redis.disconnect();
      await worker?.stop();
    }
  }, 90_000);

  it('loses nothing and doubles nothing when Postgres is cut off mid-burst', async () => {
    const proxy = await startTcpProxy(5432);
    const gateway = await startGateway({ DATABASE_URL: TEST_DATABASE_URL.replace('localhost:5432', `127.0.0.1:${proxy.port}`) });
    try {
      const admin = adminClient(gateway);
      const { tenant, sender, receiver } = await pair(gateway, admin);
      let cut = false;
      const delivered = await burst(sender, receiver.session.agent.agent_id, 3_000, 50, (i) => {
        if (i === 1_000 && !cut) {
          cut = true;
          void proxy.cut().then(() => setTimeout(() => void proxy.restore(), 3_000));
        }
      });
      expect(delivered).toHaveLength(3_000);
      await drained(gateway.env.REDIS_KEY_PREFIX ?? '', 90_000);
      expect(await count(tenant)).toBe(3_000);
      expect((await admin.call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({ ok: true });
      expect(gateway.output.join('\n')).toContain('audit batch not written, retrying with backoff');
      sender.socket.close();
      receiver.socket.close();
    } finally {
      await gateway.stop();
      await proxy.close();
    }
  }, 150_000);

  it('loses no accepted record when the gateway is stopped (SIGTERM) mid-burst; the next writer drains the queue', async () => {
    const prefix = uniquePrefix();
    const proxy = await startTcpProxy(5432);
    // The first gateway reaches Postgres through a proxy that the test cuts mid-burst, so that
    // accepted records are still queued in Redis when SIGTERM comes.
    const first = await startGateway({
      REDIS_KEY_PREFIX: prefix,
      DATABASE_URL: TEST_DATABASE_URL.replace('localhost:5432', `127.0.0.1:${proxy.port}`),
    });
    const admin = adminClient(first);
    const { tenant, sender, receiver } = await pair(first, admin);
    let writtenAtStop = -1;
    const delivered = await burst(sender, receiver.session.agent.agent_id, 2_000, 50, (i) => {
      if (i === 500) void proxy.cut();
      if (i === 1_000 && writtenAtStop < 0) {
        writtenAtStop = 0;
        first.child.kill('SIGTERM');
      }
    });
    expect(await first.exited).toMatchObject({ code: 0 });
    await proxy.close();
    writtenAtStop = await count(tenant);
    expect(delivered.length).toBeGreaterThan(900);
    expect(writtenAtStop).toBeLessThan(delivered.length);
    // A gateway on the same Redis (its writer) takes over what is still queued.
    const second = await startGateway({ REDIS_KEY_PREFIX: prefix });
    try {
      await drained(prefix);
      const { rows } = await db.query<{ id: string }>(
        "SELECT details->>'message_id' AS id FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed'",
        [tenant],
      );
      const written = new Set(rows.map((r) => r.id));
      expect(delivered.filter((id) => !written.has(id))).toEqual([]);
      expect(rows.length).toBe(written.size);
      expect((await adminClient(second).call('GET', `/admin/v1/audit/verify?tenant_id=${tenant}`)).body).toMatchObject({ ok: true });
    } finally {
      await second.stop();
    }
  }, 120_000);
});

function adminHeaders(): Record<string, string> {
  return { authorization: 'Bearer test-admin-token-0123456789abcdef0123456789' };
}
