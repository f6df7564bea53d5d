import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { RedisBus } from '#libs/redis';
import { compilePolicy, denyAll, type CompiledPolicy, type PolicyDecision, type PolicySubject } from './policy.compiler.js';
import { DEFAULT_POLICY, PolicyDocumentError, parsePolicyDocument, type PolicyAction, type PolicyDocument } from './policy.document.js';
import { PolicyRepository, type StoredPolicy } from './policy.repository.js';

const CHANNEL = 'policy';

/** The outcome of a `send` decision, as the router acts on it. */
export type SendVerdict =
  | { outcome: 'allowed' }
  /** Same tenant, denied by its policy: `FORBIDDEN`. */
  | { outcome: 'forbidden'; decision: PolicyDecision }
  /** Another tenant without consent on both sides: the target does not exist for the caller. */
  | { outcome: 'invisible'; side: 'sender' | 'receiver'; decision: PolicyDecision };

/** A tenant's policy as the admin API shows it. */
export interface PolicyView {
  tenant_id: string;
  rules: PolicyDocument['rules'];
  version: number;
  updated_at: string | null;
  updated_by: string | null;
  /** True when the tenant has stored no policy and the contract's default applies. */
  default: boolean;
}

/**
 * Per-tenant authorization (contract §7.1). Policies are compiled once and cached on every node;
 * a change made through the admin API drops the cached copy on every node (Redis pub/sub), and
 * every copy is re-read in the background after `POLICY_CACHE_TTL_S` in case a node missed that.
 * A stored document that no longer compiles denies everything for its tenant (fail closed).
 */
@Injectable()
export class PolicyService implements OnModuleInit {
  private readonly logger = new Logger('Policy');
  private readonly cache = new Map<string, { policy: CompiledPolicy; fetchedAt: number }>();
  private readonly loading = new Map<string, Promise<CompiledPolicy>>();
  private readonly ttlMs: number;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly policies: PolicyRepository,
    private readonly bus: RedisBus,
    private readonly audit: AuditTrail,
  ) {
    this.ttlMs = config.policy.cacheTtlS * 1000;
  }

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (message) => {
      const tenantId = (message as { tenant_id?: unknown }).tenant_id;
      if (typeof tenantId === 'string') this.cache.delete(tenantId);
    });
  }

  /** Decides a direct message: the sender's tenant must allow it, and for another tenant the receiver's too. */
  async decideSend(from: PolicySubject, to: PolicySubject): Promise<SendVerdict> {
    const request = { action: 'send' as const, from, to };
    const senderDecision = (await this.policyOf(from.tenantId)).evaluate(request);
    if (from.tenantId === to.tenantId)
      return senderDecision.allowed ? { outcome: 'allowed' } : { outcome: 'forbidden', decision: senderDecision };
    if (!senderDecision.allowed) return { outcome: 'invisible', side: 'sender', decision: senderDecision };
    const receiverDecision = (await this.policyOf(to.tenantId)).evaluate(request);
    return receiverDecision.allowed ? { outcome: 'allowed' } : { outcome: 'invisible', side: 'receiver', decision: receiverDecision };
  }

  /** Decides `publish` or `subscribe` on a topic of the caller's own tenant. */
  async decideTopic(action: Exclude<PolicyAction, 'send'>, from: PolicySubject, topic: string): Promise<PolicyDecision> {
    return (await this.policyOf(from.tenantId)).evaluate({ action, from, topic });
  }

  /** Whether `viewer` may see `target` at all: its own tenant, or another with consent on both sides for `send`. */
  async canSee(viewer: PolicySubject, target: PolicySubject): Promise<boolean> {
    if (viewer.tenantId === target.tenantId) return true;
    return (await this.decideSend(viewer, target)).outcome === 'allowed';
  }

  async view(tenantId: string): Promise<PolicyView> {
    const stored = await this.policies.find(tenantId);
    if (!stored) return { tenant_id: tenantId, rules: DEFAULT_POLICY.rules, version: 0, updated_at: null, updated_by: null, default: true };
    return viewOf(stored);
  }

  /** Validates and stores a tenant's policy, then drops every node's cached copy. */
  async put(tenantId: string, input: unknown, actor: AuditActor): Promise<{ before: PolicyView; after: PolicyView }> {
    let document: PolicyDocument;
    try {
      document = parsePolicyDocument(input);
    } catch (error) {
      if (error instanceof PolicyDocumentError) throw new GatewayError('INVALID_MESSAGE', error.message);
      throw error;
    }
    const before = await this.view(tenantId);
    const { after } = await this.policies.put(tenantId, document, actor.id);
    this.cache.delete(tenantId);
    await this.bus
      .publish(CHANNEL, { tenant_id: tenantId })
      .catch((error: Error) =>
        this.logger.error(`policy change not broadcast (nodes pick it up within POLICY_CACHE_TTL_S): ${error.message}`),
      );
    const view = viewOf(after);
    this.audit.record({
      action: 'policy.updated',
      tenant_id: tenantId,
      actor,
      subject: tenantId,
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: null,
      details: {
        before: { rules: before.rules, version: before.version, default: before.default },
        after: { rules: view.rules, version: view.version },
      },
    });
    return { before, after: view };
  }

  /** The compiled policy of a tenant: cached, re-read in the background when stale. */
  async policyOf(tenantId: string): Promise<CompiledPolicy> {
    const cached = this.cache.get(tenantId);
    if (cached) {
      if (Date.now() - cached.fetchedAt > this.ttlMs && !this.loading.has(tenantId)) this.load(tenantId).catch(() => undefined);
      return cached.policy;
    }
    return this.load(tenantId);
  }

  private load(tenantId: string): Promise<CompiledPolicy> {
    const pending = this.loading.get(tenantId);
    if (pending) return pending;
    const promise = this.policies
      .find(tenantId)
      .then(
        (stored) => {
          const policy = this.compile(tenantId, stored);
          this.cache.set(tenantId, { policy, fetchedAt: Date.now() });
          return policy;
        },
        (error: Error) => {
          this.logger.error(`policy of ${tenantId} could not be read: ${error.message}`);
          throw new GatewayError('UNAVAILABLE', 'authorization policy unavailable; retry later', { cause: error });
        },
      )
      .finally(() => this.loading.delete(tenantId));
    this.loading.set(tenantId, promise);
    return promise;
  }

  private compile(tenantId: string, stored: StoredPolicy | null): CompiledPolicy {
    if (!stored) return compilePolicy(tenantId, DEFAULT_POLICY);
    try {
      return compilePolicy(tenantId, parsePolicyDocument(stored.document));
    } catch (error) {
      this.logger.error(
        `stored policy of ${tenantId} (version ${stored.version}) is invalid, denying everything for the tenant: ${(error as Error).message}`,
      );
      return denyAll(tenantId);
    }
  }
}

function viewOf(stored: StoredPolicy): PolicyView {
  const rules = (stored.document as { rules?: PolicyDocument['rules'] }).rules ?? [];
  return {
    tenant_id: stored.tenantId,
    rules,
    version: stored.version,
    updated_at: stored.updatedAt.toISOString(),
    updated_by: stored.updatedBy,
    default: false,
  };
}
