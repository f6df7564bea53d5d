import { Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { RefusalLog } from '#libs/observability';
import { PolicyService, type PolicyDecision } from '#libs/policy';
import { GatewayError, type ClientPayloads } from '#libs/protocol';
import { SPANS } from '#libs/telemetry';
import type { MessageContext, MessageGuard } from '../guards.js';
import { RoutingService, notConnected } from '../routing.service.js';
import { protocolDetails } from '../session.js';
import { subjectOf } from './policy-subject.js';

/**
 * The authorization stage of the pipeline: `send` (the recipient resolved in any tenant, then the
 * policies of the sender's and, across tenants, the receiver's tenant), `publish` and `subscribe`
 * (the caller's tenant). A same-tenant denial is `FORBIDDEN`; a cross-tenant send without consent
 * on both sides is `AGENT_NOT_FOUND`, exactly as if the target did not exist. Denials are audited.
 */
@Injectable()
export class AuthorizationGuard implements MessageGuard {
  readonly spanName = SPANS.authorize;

  constructor(
    private readonly policy: PolicyService,
    private readonly routing: RoutingService,
    private readonly audit: AuditTrail,
    private readonly refusals: RefusalLog,
  ) {}

  async check(context: MessageContext): Promise<void> {
    switch (context.event) {
      case 'send':
        return this.checkSend(context as MessageContext<'send'>);
      case 'publish':
      case 'subscribe': {
        const topic = (context.payload as ClientPayloads['publish' | 'subscribe']).topic;
        const decision = await this.policy.decideTopic(context.event, subjectOf(context.caller), topic);
        if (!decision.allowed) {
          throw this.deny(
            context,
            topic,
            decision,
            reasonOf(decision),
            new GatewayError(
              'FORBIDDEN',
              `the policy of tenant "${context.caller.tenantId}" does not allow ${context.event} on "${topic}"`,
            ),
          );
        }
        return;
      }
      default:
        return;
    }
  }

  private async checkSend(context: MessageContext<'send'>): Promise<void> {
    const to = context.payload.to_agent_id;
    const target = await this.routing.resolveAgent(to);
    const verdict = await this.policy.decideSend(subjectOf(context.caller), {
      tenantId: target.tenantId,
      agentId: target.agentId,
      capabilities: target.capabilities,
    });
    switch (verdict.outcome) {
      case 'allowed':
        context.target = target;
        return;
      case 'forbidden':
        throw this.deny(
          context,
          to,
          verdict.decision,
          reasonOf(verdict.decision),
          new GatewayError('FORBIDDEN', `the policy of tenant "${context.caller.tenantId}" does not allow sending to "${to}"`),
        );
      case 'invisible':
        throw this.deny(
          context,
          to,
          verdict.decision,
          verdict.side === 'sender' ? 'cross_tenant_not_allowed_by_sender' : 'cross_tenant_not_allowed_by_receiver',
          notConnected(to),
          target.tenantId,
        );
    }
  }

  /** Records the denial with the refusal's request id, and returns the refusal to throw. */
  private deny(
    context: MessageContext,
    subject: string,
    decision: PolicyDecision,
    reason: string,
    refusal: GatewayError,
    targetTenant?: string,
  ): GatewayError {
    context.audited = true;
    const { caller } = context;
    this.refusals.note(refusal, {
      where: context.event,
      agentId: caller.agentId,
      sessionId: caller.session?.id ?? null,
      remoteAddr: caller.remoteAddress,
    });
    this.audit.record({
      action: 'message.denied',
      tenant_id: context.caller.tenantId,
      actor: { type: 'agent', id: context.caller.agentId },
      subject,
      outcome: 'denied',
      reason,
      session_id: context.caller.session?.id ?? null,
      remote_addr: context.caller.remoteAddress,
      details: {
        ...protocolDetails(caller),
        event: context.event,
        ...('rule' in decision && { rule: decision.rule }),
        ...(targetTenant && { to_tenant_id: targetTenant }),
        request_id: refusal.requestId,
      },
    });
    return refusal;
  }
}

function reasonOf(decision: PolicyDecision): string {
  return decision.allowed ? 'allowed' : decision.reason;
}
