import type { PolicyAction, PolicyDocument, PolicySelector } from './policy.document.js';

/** Who or what a policy decision is about. */
export interface PolicySubject {
  tenantId: string;
  agentId: string;
  capabilities: readonly string[];
}

/** A request to decide: `send` names an agent as target, `publish`/`subscribe` a topic. */
export type PolicyRequest =
  { action: 'send'; from: PolicySubject; to: PolicySubject } | { action: 'publish' | 'subscribe'; from: PolicySubject; topic: string };

/** The outcome of a decision, with the rule that decided it. */
export type PolicyDecision =
  | { allowed: true; rule: number }
  | { allowed: false; reason: 'no_allow_rule' }
  | { allowed: false; reason: 'denied_by_rule'; rule: number }
  | { allowed: false; reason: 'evaluation_error' };

type Matcher = (value: string) => boolean;

interface CompiledSelector {
  agentId?: Matcher;
  capability?: Matcher;
  topic?: Matcher;
  tenantId?: Matcher;
}

interface CompiledRule {
  index: number;
  allow: boolean;
  actions: ReadonlySet<PolicyAction>;
  from: CompiledSelector;
  to: CompiledSelector;
}

/** A policy ready to evaluate, for one tenant. */
export interface CompiledPolicy {
  readonly tenantId: string;
  evaluate(request: PolicyRequest): PolicyDecision;
}

/**
 * `*` matches any run of characters, `/` included; everything else is literal. Linear in the
 * length of the value, whatever the glob: the literal parts between stars are found left to right
 * with `indexOf` (the leftmost match of each part is always a safe choice, because a star can absorb
 * whatever lies before the next part), the first part anchored at the start and the last at the end.
 * No regular expression, so no backtracking an admin or an agent-chosen topic could trigger.
 */
export function compileGlob(glob: string): Matcher {
  if (!glob.includes('*')) return (value) => value === glob;
  const parts = glob.split('*');
  const head = parts[0] ?? '';
  const tail = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1).filter((part) => part.length > 0);
  const fixed = head.length + tail.length;
  if (fixed === 0 && middle.length === 0) return () => true;
  return (value) => {
    if (value.length < fixed || !value.startsWith(head) || !value.endsWith(tail)) return false;
    let at = head.length;
    const end = value.length - tail.length;
    for (const part of middle) {
      const found = value.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

function compileSelector(selector: PolicySelector | undefined): CompiledSelector {
  const out: CompiledSelector = {};
  if (selector?.agent_id !== undefined) out.agentId = compileGlob(selector.agent_id);
  if (selector?.capability !== undefined) out.capability = compileGlob(selector.capability);
  if (selector?.topic !== undefined) out.topic = compileGlob(selector.topic);
  if (selector?.tenant_id !== undefined) out.tenantId = compileGlob(selector.tenant_id);
  return out;
}

/**
 * A selector matches a party when every field it sets matches. `tenant_id` unset means "this
 * policy's own tenant": rules speak of their own tenant unless they name another (contract §7.1).
 */
function matchesParty(selector: CompiledSelector, party: PolicySubject, ownTenant: string): boolean {
  if (selector.tenantId ? !selector.tenantId(party.tenantId) : party.tenantId !== ownTenant) return false;
  if (selector.agentId && !selector.agentId(party.agentId)) return false;
  if (selector.capability && !party.capabilities.some((c) => selector.capability!(c))) return false;
  return !selector.topic;
}

function matches(rule: CompiledRule, request: PolicyRequest, ownTenant: string): boolean {
  if (!rule.actions.has(request.action)) return false;
  if (!matchesParty(rule.from, request.from, ownTenant)) return false;
  if (request.action === 'send') return matchesParty(rule.to, request.to, ownTenant);
  // Topics live in the publisher's tenant; a topic rule matches when its glob (if any) does.
  return !rule.to.agentId && !rule.to.capability && !rule.to.tenantId && (!rule.to.topic || rule.to.topic(request.topic));
}

/**
 * Compiles a validated document for `tenantId`. Deny wins: a request is allowed when some
 * `allow` rule matches and no `deny` rule does; an exception while evaluating denies.
 */
export function compilePolicy(tenantId: string, document: PolicyDocument): CompiledPolicy {
  const rules: CompiledRule[] = document.rules.map((rule, index) => ({
    index,
    allow: rule.effect === 'allow',
    actions: new Set(rule.actions),
    from: compileSelector(rule.from),
    to: compileSelector(rule.to),
  }));
  return fromRules(tenantId, rules);
}

/** Builds the evaluator over compiled rules (exported for the evaluator's own tests). */
export function fromRules(
  tenantId: string,
  rules: readonly { index: number; allow: boolean; actions: ReadonlySet<PolicyAction>; from: CompiledSelector; to: CompiledSelector }[],
): CompiledPolicy {
  return {
    tenantId,
    evaluate(request) {
      try {
        let allowedBy: number | undefined;
        for (const rule of rules) {
          if (!matches(rule, request, tenantId)) continue;
          if (!rule.allow) return { allowed: false, reason: 'denied_by_rule', rule: rule.index };
          allowedBy ??= rule.index;
        }
        return allowedBy === undefined ? { allowed: false, reason: 'no_allow_rule' } : { allowed: true, rule: allowedBy };
      } catch {
        return { allowed: false, reason: 'evaluation_error' };
      }
    },
  };
}

/** A policy that denies everything: what a tenant gets when its stored document cannot be compiled. */
export function denyAll(tenantId: string): CompiledPolicy {
  return { tenantId, evaluate: () => ({ allowed: false, reason: 'evaluation_error' }) };
}
