import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig, type RateLimitDefaults } from '#libs/config';
import { GatewayError, describeSchemaError } from '#libs/protocol';
import { RedisBus } from '#libs/redis';
import { RateLimitConfigRepository, type StoredRateLimits } from './rate-limit-config.repository.js';
import { rateLimitDocumentSchema, type RateLimitDocument } from './rate-limit.document.js';

const CHANNEL = 'rate_limits';
const REFRESH_MS = 30_000;

/** The rate limits as the admin API shows them. */
export interface RateLimitView extends RateLimitDocument {
  /** The defaults in force: the stored ones over `RATE_LIMIT_DEFAULTS` over the built-in ones. */
  effective_defaults: RateLimitDefaults;
  version: number;
  updated_at: string | null;
  updated_by: string | null;
}

/**
 * The deployment's rate-limit document, cached on every node: loaded at start, replaced on every
 * node when the admin API stores a new one (Redis pub/sub), and re-read every 30 s in case a node
 * missed that. Until a document is stored, `RATE_LIMIT_DEFAULTS` (or the contract's example) apply.
 */
@Injectable()
export class RateLimitConfigService implements OnModuleInit {
  private readonly logger = new Logger('RateLimits');
  private document: RateLimitDocument = {};
  private timer: NodeJS.Timeout | null = null;
  readonly defaults: RateLimitDefaults;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly repository: RateLimitConfigRepository,
    private readonly bus: RedisBus,
    private readonly audit: AuditTrail,
  ) {
    this.defaults = config.rateLimits.defaults;
  }

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, () => void this.reload());
    await this.reload();
    this.timer = setInterval(() => void this.reload(), REFRESH_MS);
    this.timer.unref();
  }

  /** The document in force on this node. */
  get current(): RateLimitDocument {
    return this.document;
  }

  async view(): Promise<RateLimitView> {
    const stored = await this.repository.find();
    const document = stored ? this.parseStored(stored) : {};
    return {
      ...document,
      effective_defaults: { ...this.defaults, ...document.defaults },
      version: stored?.version ?? 0,
      updated_at: stored?.updatedAt.toISOString() ?? null,
      updated_by: stored?.updatedBy ?? null,
    };
  }

  /** Validates and stores a new document, then tells every node. */
  async put(input: unknown, actor: AuditActor): Promise<{ before: RateLimitView; after: RateLimitView }> {
    const parsed = rateLimitDocumentSchema.safeParse(input);
    if (!parsed.success) throw new GatewayError('INVALID_MESSAGE', describeSchemaError(parsed.error));
    const before = await this.view();
    await this.repository.put(parsed.data, actor.id);
    this.document = parsed.data;
    await this.bus
      .publish(CHANNEL, { changed: true })
      .catch((error: Error) => this.logger.error(`rate-limit change not broadcast (nodes pick it up within 30 s): ${error.message}`));
    const after = await this.view();
    this.audit.record({
      action: 'rate_limit.updated',
      tenant_id: null,
      actor,
      subject: 'rate-limits',
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: null,
      details: { before, after },
    });
    return { before, after };
  }

  private async reload(): Promise<void> {
    try {
      const stored = await this.repository.find();
      this.document = stored ? this.parseStored(stored) : {};
    } catch (error) {
      this.logger.warn(`rate limits not re-read (Postgres?), keeping the current ones: ${(error as Error).message}`);
    }
  }

  private parseStored(stored: StoredRateLimits): RateLimitDocument {
    const parsed = rateLimitDocumentSchema.safeParse(stored.document);
    if (parsed.success) return parsed.data;
    this.logger.error(
      `stored rate-limit document (version ${stored.version}) is invalid; using the defaults: ${describeSchemaError(parsed.error)}`,
    );
    return {};
  }
}
