import { describe, expect, it } from 'vitest';
import type { AuditTrail } from '#libs/audit';
import type { GatewayConfig } from '#libs/config';
import type { RedisBus } from '#libs/redis';
import { compileGlob, compilePolicy, fromRules, type PolicySubject } from './policy.compiler.js';
import { DEFAULT_POLICY, PolicyDocumentError, parsePolicyDocument, type PolicyDocument } from './policy.document.js';
import type { PolicyRepository, StoredPolicy } from './policy.repository.js';
import { PolicyService } from './policy.service.js';

const agent = (tenantId: string, agentId: string, capabilities: string[] = []): PolicySubject => ({ tenantId, agentId, capabilities });

describe('policy documents', () => {
  it('accepts the contract example', () => {
    expect(() =>
      parsePolicyDocument({
        rules: [
          {
            effect: 'allow',
            actions: ['send'],
            from: { agent_id: 'planner-*', capability: 'plan' },
            to: { agent_id: 'tool-*', capability: 'search', tenant_id: 'acme' },
          },
        ],
      }),
    ).not.toThrow();
  });

  it.each([
    [{ rules: [{ effect: 'permit', actions: ['send'] }] }, 'rules[0].effect'],
    [{ rules: [{ effect: 'allow', actions: [] }] }, 'rules[0].actions'],
    [
      {
        rules: [
          { effect: 'allow', actions: ['send'] },
          { effect: 'deny', actions: ['fly'] },
        ],
      },
      'rules[1].actions[0]',
    ],
    [{ rules: [{ effect: 'allow', actions: ['send'], to: { agent_id: 'a b' } }] }, 'rules[0].to.agent_id'],
    [{ rules: [{ effect: 'allow', actions: ['send'], to: { agnet_id: 'x' } }] }, 'rules[0].to: unknown field "agnet_id"'],
    [
      { rules: [{ effect: 'allow', actions: ['send'], to: { topic: 'jobs/*' } }] },
      'rules[0].to.topic: applies to publish and subscribe, not send',
    ],
    [{ rules: [{ effect: 'allow', actions: ['publish'], to: { agent_id: 'x' } }] }, 'rules[0].to.agent_id: applies to send'],
    [{ rules: [{ effect: 'allow', actions: ['publish'], from: { topic: 'x' } }] }, 'rules[0].from.topic'],
    [{ policy: [] }, 'rules: is required'],
    [{ rules: [{ effect: 'allow', actions: ['send'], to: { agent_id: 'x'.repeat(257) } }] }, 'rules[0].to.agent_id: must be at most 256'],
    [
      { rules: [{ effect: 'allow', actions: ['send'], to: { agent_id: '*a'.repeat(17) } }] },
      'rules[0].to.agent_id: must have at most 16 "*"',
    ],
    [
      {
        rules: Array.from({ length: 501 }, () => ({
          effect: 'allow',
          actions: ['send'],
          from: { agent_id: 'a*' },
          to: { agent_id: 'b*' },
        })),
      },
      'rules[500]: a document may hold at most 1000 selector values with "*"',
    ],
    [{ rules: Array.from({ length: 1001 }, () => ({ effect: 'allow', actions: ['send'] })) }, 'rules: must have at most 1000 rules'],
  ])('points at the faulty rule: %j', (document, message) => {
    expect(() => parsePolicyDocument(document)).toThrow(PolicyDocumentError);
    expect(() => parsePolicyDocument(document)).toThrow(message);
  });
});

describe('policy evaluation', () => {
  const policy = (rules: PolicyDocument['rules']) => compilePolicy('acme', parsePolicyDocument({ rules }));
  const send = (from: PolicySubject, to: PolicySubject) => ({ action: 'send' as const, from, to });

  it('globs: * matches any run of characters, / included; other characters are literal', () => {
    expect(compileGlob('planner-*')('planner-7')).toBe(true);
    expect(compileGlob('planner-*')('planner')).toBe(false);
    expect(compileGlob('jobs/*')('jobs/eu/42')).toBe(true);
    expect(compileGlob('a.b')('aXb')).toBe(false);
    expect(compileGlob('*-bot')('x-bot')).toBe(true);
    expect(compileGlob('*')('')).toBe(true);
    expect(compileGlob('**')('anything')).toBe(true);
    expect(compileGlob('a*b*c')('abc')).toBe(true);
    expect(compileGlob('a*b*c')('aXbYc')).toBe(true);
    expect(compileGlob('a*b*c')('acb')).toBe(false);
    expect(compileGlob('ab*b')('ab')).toBe(false);
    expect(compileGlob('ab*ba')('aba')).toBe(false);
    expect(compileGlob('*aa*aa*')('aaaa')).toBe(true);
    expect(compileGlob('*aa*aa*')('aaa')).toBe(false);
    expect(compileGlob('x*y*')('x-y')).toBe(true);
  });

  it('globs agree with a reference matcher on every short value', () => {
    // Reference: the textbook recursive definition, fine for inputs this small.
    const reference = (glob: string, value: string): boolean => {
      if (glob === '') return value === '';
      if (glob[0] === '*') return reference(glob.slice(1), value) || (value !== '' && reference(glob, value.slice(1)));
      return value !== '' && glob[0] === value[0] && reference(glob.slice(1), value.slice(1));
    };
    const words = (alphabet: string, max: number): string[] => {
      const out = [''];
      for (let i = 0; i < out.length; i++) {
        const word = out[i] ?? '';
        if (word.length < max) for (const c of alphabet) out.push(word + c);
      }
      return out;
    };
    const values = words('ab', 5);
    for (const glob of words('ab*', 4)) {
      const matcher = compileGlob(glob);
      for (const value of values) expect(matcher(value), `${glob} ~ ${value}`).toBe(reference(glob, value));
    }
  });

  it('evaluates a hostile glob against long values in linear time (the old regular expression took seconds)', () => {
    // `.*a.*a.*…b` as a backtracking regular expression: 4.5 s for one 60-character value at 15
    // characters of glob, 29 s at 17. The bound here is ten thousand evaluations of longer ones.
    const hostile = compileGlob('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b');
    const values = ['a'.repeat(60), 'a'.repeat(128), `${'a'.repeat(199)}c`];
    let matched = 0;
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) for (const value of values) if (hostile(value)) matched++;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(matched).toBe(0);
    expect(hostile(`${'a'.repeat(15)}b`)).toBe(true);
  });

  it('allows within the tenant by default, never across tenants', () => {
    const p = compilePolicy('acme', DEFAULT_POLICY);
    expect(p.evaluate(send(agent('acme', 'a'), agent('acme', 'b'))).allowed).toBe(true);
    expect(p.evaluate({ action: 'publish', from: agent('acme', 'a'), topic: 'news' }).allowed).toBe(true);
    expect(p.evaluate(send(agent('acme', 'a'), agent('globex', 'b'))).allowed).toBe(false);
  });

  it('matches agent ids and capabilities by glob', () => {
    const p = policy([
      { effect: 'allow', actions: ['send'], from: { agent_id: 'planner-*', capability: 'plan' }, to: { capability: 'search*' } },
    ]);
    expect(p.evaluate(send(agent('acme', 'planner-1', ['plan']), agent('acme', 'tool-1', ['search-web'])))).toEqual({
      allowed: true,
      rule: 0,
    });
    expect(p.evaluate(send(agent('acme', 'planner-1', ['write']), agent('acme', 'tool-1', ['search-web'])))).toEqual({
      allowed: false,
      reason: 'no_allow_rule',
    });
    expect(p.evaluate(send(agent('acme', 'writer-1', ['plan']), agent('acme', 'tool-1', ['search-web']))).allowed).toBe(false);
    expect(p.evaluate(send(agent('acme', 'planner-1', ['plan']), agent('acme', 'tool-1', []))).allowed).toBe(false);
  });

  it('decides topics by action and topic glob', () => {
    const p = policy([
      { effect: 'allow', actions: ['subscribe'], to: { topic: 'jobs/*' } },
      { effect: 'allow', actions: ['publish'], from: { capability: 'dispatch' }, to: { topic: 'jobs/*' } },
    ]);
    expect(p.evaluate({ action: 'subscribe', from: agent('acme', 'w'), topic: 'jobs/eu' }).allowed).toBe(true);
    expect(p.evaluate({ action: 'subscribe', from: agent('acme', 'w'), topic: 'payroll' }).allowed).toBe(false);
    expect(p.evaluate({ action: 'publish', from: agent('acme', 'w'), topic: 'jobs/eu' }).allowed).toBe(false);
    expect(p.evaluate({ action: 'publish', from: agent('acme', 'd', ['dispatch']), topic: 'jobs/eu' }).allowed).toBe(true);
    expect(p.evaluate(send(agent('acme', 'w'), agent('acme', 'x'))).allowed).toBe(false);
  });

  it('lets deny win over allow, whatever the order', () => {
    const allowThenDeny = policy([
      { effect: 'allow', actions: ['send', 'publish'], from: {}, to: {} },
      { effect: 'deny', actions: ['send'], to: { agent_id: 'vault-*' } },
    ]);
    const denyThenAllow = policy([
      { effect: 'deny', actions: ['send'], to: { agent_id: 'vault-*' } },
      { effect: 'allow', actions: ['send', 'publish'], from: {}, to: {} },
    ]);
    for (const p of [allowThenDeny, denyThenAllow]) {
      expect(p.evaluate(send(agent('acme', 'a'), agent('acme', 'vault-1')))).toMatchObject({ allowed: false, reason: 'denied_by_rule' });
      expect(p.evaluate(send(agent('acme', 'a'), agent('acme', 'tool-1'))).allowed).toBe(true);
    }
  });

  it('denies when a rule throws while being evaluated', () => {
    const throwing = () => {
      throw new Error('matcher exploded');
    };
    const p = fromRules('acme', [
      { index: 0, allow: true, actions: new Set(['send'] as const), from: {}, to: {} },
      { index: 1, allow: false, actions: new Set(['send'] as const), from: { agentId: throwing }, to: {} },
    ]);
    expect(p.evaluate(send(agent('acme', 'a'), agent('acme', 'b')))).toEqual({ allowed: false, reason: 'evaluation_error' });
  });

  it('speaks of its own tenant unless a rule names another', () => {
    const acme = policy([{ effect: 'allow', actions: ['send'], to: { tenant_id: 'globex' } }]);
    expect(acme.evaluate(send(agent('acme', 'a'), agent('globex', 'b'))).allowed).toBe(true);
    expect(acme.evaluate(send(agent('acme', 'a'), agent('initech', 'b'))).allowed).toBe(false);
    expect(acme.evaluate(send(agent('acme', 'a'), agent('acme', 'b'))).allowed).toBe(false);
  });
});

describe('PolicyService cross-tenant consent', () => {
  const service = (documents: Record<string, PolicyDocument>) => {
    const repository = {
      find: (tenantId: string): Promise<StoredPolicy | null> =>
        Promise.resolve(
          documents[tenantId] ? { tenantId, document: documents[tenantId], version: 1, updatedAt: new Date(), updatedBy: 'test' } : null,
        ),
    } as unknown as PolicyRepository;
    return new PolicyService(
      { policy: { cacheTtlS: 30 } } as GatewayConfig,
      repository,
      {} as RedisBus,
      { record: () => undefined } as unknown as AuditTrail,
    );
  };
  const a = agent('acme', 'a1');
  const b = agent('globex', 'b1');
  const acmeAllowsGlobex: PolicyDocument = { rules: [{ effect: 'allow', actions: ['send'], to: { tenant_id: 'globex' } }] };
  const globexAcceptsAcme: PolicyDocument = { rules: [{ effect: 'allow', actions: ['send'], from: { tenant_id: 'acme' } }] };

  it('without consent the target is invisible, not forbidden', async () => {
    expect(await service({}).decideSend(a, b)).toMatchObject({ outcome: 'invisible', side: 'sender' });
  });

  it('consent on the sender side only is not enough', async () => {
    expect(await service({ acme: acmeAllowsGlobex }).decideSend(a, b)).toMatchObject({ outcome: 'invisible', side: 'receiver' });
  });

  it('consent on the receiver side only is not enough', async () => {
    expect(await service({ globex: globexAcceptsAcme }).decideSend(a, b)).toMatchObject({ outcome: 'invisible', side: 'sender' });
  });

  it('consent on both sides allows, and only in that direction', async () => {
    const s = service({ acme: acmeAllowsGlobex, globex: globexAcceptsAcme });
    expect(await s.decideSend(a, b)).toEqual({ outcome: 'allowed' });
    expect(await s.decideSend(b, a)).toMatchObject({ outcome: 'invisible' });
    expect(await s.canSee(a, b)).toBe(true);
  });

  it('a same-tenant denial is forbidden, not invisible', async () => {
    const s = service({ acme: { rules: [{ effect: 'deny', actions: ['send'], to: { agent_id: 'a2' } }, ...DEFAULT_POLICY.rules] } });
    expect(await s.decideSend(a, agent('acme', 'a2'))).toMatchObject({ outcome: 'forbidden' });
  });

  it('a stored document that no longer compiles denies everything for its tenant', async () => {
    const s = service({ acme: { rules: [{ effect: 'maybe' }] } as unknown as PolicyDocument });
    expect(await s.decideSend(a, agent('acme', 'a2'))).toMatchObject({ outcome: 'forbidden', decision: { reason: 'evaluation_error' } });
  });
});
