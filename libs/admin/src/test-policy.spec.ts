import { describe, expect, it } from 'vitest';
import { compilePolicy, DEFAULT_POLICY, type PolicyDocument, type PolicyService } from '#libs/policy';
import { GatewayError } from '#libs/protocol';
import { TestPolicy } from './test-policy.js';

// The dry run with the gateway's real policy compiler; only the saved policies are a map here.
function dryRun(saved: Record<string, PolicyDocument> = {}): TestPolicy {
  const policies = {
    policyOf: (tenantId: string) => Promise.resolve(compilePolicy(tenantId, saved[tenantId] ?? DEFAULT_POLICY)),
  } as unknown as PolicyService;
  return new TestPolicy(policies);
}

const planners: PolicyDocument = {
  rules: [
    { effect: 'allow', actions: ['send'], from: { capability: 'plan' }, to: { agent_id: 'tool-*' } },
    { effect: 'deny', actions: ['send'], from: {}, to: { agent_id: 'tool-secret' } },
    { effect: 'allow', actions: ['publish'], from: {}, to: { topic: 'jobs/*' } },
  ],
};

describe('TestPolicy (the console policy test box)', () => {
  it('evaluates a send against an unsaved document, naming the rule that decided', async () => {
    const test = dryRun();
    const send = (to: string, capabilities: string[]) =>
      test.execute('acme', { document: planners, action: 'send', from: { agent_id: 'p1', capabilities }, to: { agent_id: to } });
    expect(await send('tool-search', ['plan'])).toEqual({
      allowed: true,
      sender: { tenant_id: 'acme', allowed: true, reason: 'allowed_by_rule', rule: 0 },
      receiver: null,
    });
    expect((await send('tool-secret', ['plan'])).sender).toMatchObject({ allowed: false, reason: 'denied_by_rule', rule: 1 });
    expect((await send('tool-search', [])).sender).toMatchObject({ allowed: false, reason: 'no_allow_rule', rule: null });
  });

  it('uses the saved policy when no document is given, and topics for publish', async () => {
    const test = dryRun({ acme: planners });
    expect((await test.execute('acme', { action: 'publish', from: { agent_id: 'p1' }, topic: 'jobs/1' })).allowed).toBe(true);
    expect((await test.execute('acme', { action: 'subscribe', from: { agent_id: 'p1' }, topic: 'jobs/1' })).allowed).toBe(false);
  });

  it("needs the receiver tenant's consent for a cross-tenant send", async () => {
    const outward: PolicyDocument = { rules: [{ effect: 'allow', actions: ['send'], from: {}, to: { tenant_id: 'beta' } }] };
    const test = dryRun();
    const verdict = await test.execute('acme', {
      document: outward,
      action: 'send',
      from: { agent_id: 'p1' },
      to: { agent_id: 'b1', tenant_id: 'beta' },
    });
    // beta has the default policy: everything within beta, nothing from acme.
    expect(verdict).toMatchObject({ allowed: false, sender: { allowed: true }, receiver: { tenant_id: 'beta', allowed: false } });
  });

  it('refuses a faulty document with the field it names, as saving would', async () => {
    const attempt = dryRun().execute('acme', {
      document: { rules: [{ effect: 'maybe', actions: ['send'] }] },
      action: 'publish',
      from: { agent_id: 'p1' },
      topic: 't',
    });
    await expect(attempt).rejects.toBeInstanceOf(GatewayError);
    await expect(attempt).rejects.toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/^rules\[0\]\.effect: /) });
  });
});
