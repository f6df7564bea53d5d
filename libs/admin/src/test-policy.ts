import { Injectable } from '@nestjs/common';
import {
  PolicyDocumentError,
  PolicyService,
  compilePolicy,
  parsePolicyDocument,
  type CompiledPolicy,
  type PolicyDecision,
  type PolicyRequest,
  type PolicySubject,
} from '#libs/policy';
import { GatewayError } from '#libs/protocol';
import type { PolicyTestDto } from './admin.schemas.js';

/** One side's verdict of a dry run: which rule decided, or why none allowed. */
export interface PolicyDecisionView {
  tenant_id: string;
  allowed: boolean;
  reason: 'allowed_by_rule' | 'no_allow_rule' | 'denied_by_rule' | 'evaluation_error';
  /** The index in `rules` of the deciding rule, when one decided. */
  rule: number | null;
}

/** `POST /admin/v1/tenants/{tenant_id}/policy/test`. */
export interface PolicyTestView {
  allowed: boolean;
  /** The tested tenant's document: the caller's side. */
  sender: PolicyDecisionView;
  /** A cross-tenant `send`: the receiver's saved policy, which must consent too (§7.1). */
  receiver: PolicyDecisionView | null;
}

/**
 * The console's policy "test" box: evaluates a would-be `send`, `publish` or `subscribe` of an agent
 * of the tenant against a policy document (the unsaved one being edited, or the saved one) with the
 * gateway's own compiler, exactly as the router would, without routing anything. A faulty document
 * is `INVALID_MESSAGE` naming its field, as on PUT.
 */
@Injectable()
export class TestPolicy {
  constructor(private readonly policies: PolicyService) {}

  async execute(tenantId: string, command: PolicyTestDto): Promise<PolicyTestView> {
    const policy = command.document === undefined ? await this.policies.policyOf(tenantId) : compiled(tenantId, command.document);
    const from: PolicySubject = { tenantId, agentId: command.from.agent_id, capabilities: command.from.capabilities ?? [] };
    let request: PolicyRequest;
    let receiverTenant: string | null = null;
    if (command.action === 'send') {
      const to: PolicySubject = {
        tenantId: command.to.tenant_id ?? tenantId,
        agentId: command.to.agent_id,
        capabilities: command.to.capabilities ?? [],
      };
      request = { action: 'send', from, to };
      if (to.tenantId !== tenantId) receiverTenant = to.tenantId;
    } else {
      request = { action: command.action, from, topic: command.topic };
    }
    const sender = viewOf(tenantId, policy.evaluate(request));
    const receiver =
      receiverTenant === null ? null : viewOf(receiverTenant, (await this.policies.policyOf(receiverTenant)).evaluate(request));
    return { allowed: sender.allowed && (receiver?.allowed ?? true), sender, receiver };
  }
}

function compiled(tenantId: string, document: unknown): CompiledPolicy {
  try {
    return compilePolicy(tenantId, parsePolicyDocument(document));
  } catch (error) {
    if (error instanceof PolicyDocumentError) throw new GatewayError('INVALID_MESSAGE', error.message);
    throw error;
  }
}

function viewOf(tenantId: string, decision: PolicyDecision): PolicyDecisionView {
  if (decision.allowed) return { tenant_id: tenantId, allowed: true, reason: 'allowed_by_rule', rule: decision.rule };
  return { tenant_id: tenantId, allowed: false, reason: decision.reason, rule: 'rule' in decision ? decision.rule : null };
}
