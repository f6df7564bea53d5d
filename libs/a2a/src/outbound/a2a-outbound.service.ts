import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Client } from '@a2a-js/sdk/client';
import type { Message, Task } from '@a2a-js/sdk';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError, exceedsJsonDepth, type MessageEvent, type ResultEvent } from '#libs/protocol';
import type { RemoteAgent, RemoteAgents } from '#libs/routing';
import { A2AClientPool } from './a2a-client.pool.js';
import { failureResult, isSettled, isTask, toResult, toSendMessageRequest } from './a2a-message.mapping.js';
import { RemoteAgentDirectory } from './remote-agent.directory.js';

// Polling a task the remote is still working on: first after 200 ms, then half as long again each
// time, at most every 2 s. Consecutive failed polls before the conversation ends in a failure.
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2_000;
const MAX_POLL_FAILURES = 3;
// What a sender over a remote's in-flight limit is told to wait before retrying.
const INFLIGHT_RETRY_MS = 250;

/**
 * Carries sends to remote A2A agents (contract §9, "Outbound") with the SDK's client:
 * `SendMessage` with `returnImmediately`, so that `delivered` means "the remote accepted it" and
 * not "the remote finished", then `GetTask` until the task is settled, its reply becoming the
 * conversation's result. A remote that never settles is left at the sender's deadline (routing
 * answers TIMEOUT, as for any agent) and asked to `CancelTask`. See docs/a2a.md for the choice of
 * polling over streaming.
 */
@Injectable()
export class A2AOutboundService implements RemoteAgents {
  private readonly logger = new Logger('A2AOutbound');
  /** Remote agent → `SendMessage` calls not answered yet (bounded by MAX_INFLIGHT_DELIVERIES_PER_AGENT). */
  private readonly inflight = new Map<string, number>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly directory: RemoteAgentDirectory,
    private readonly clients: A2AClientPool,
    private readonly audit: AuditTrail,
    private readonly metrics: MetricsService,
  ) {}

  find(agentId: string): Promise<RemoteAgent | null> {
    return this.directory.find(agentId);
  }

  list(tenantId: string): Promise<RemoteAgent[]> {
    return this.directory.list(tenantId);
  }

  async deliver(message: MessageEvent, target: RemoteAgent, reply: (result: ResultEvent) => Promise<boolean>): Promise<void> {
    const row = await this.directory.row(target.agentId);
    if (!row) throw new GatewayError('AGENT_NOT_FOUND', `agent "${target.agentId}" is not connected`);
    const open = this.inflight.get(row.id) ?? 0;
    if (open >= this.config.limits.inflightDeliveriesPerAgent) {
      throw new GatewayError(
        'RATE_LIMIT',
        `remote agent "${row.id}" has ${open} messages it has not accepted yet (MAX_INFLIGHT_DELIVERIES_PER_AGENT); retry shortly`,
        { retryAfterMs: INFLIGHT_RETRY_MS, reason: 'max_inflight_deliveries_per_agent' },
      );
    }
    this.inflight.set(row.id, open + 1);
    let remote;
    let first: Message | Task;
    // Accepting (reading the card the first time, then SendMessage) is what a connected agent's
    // ack is: bounded by DELIVERY_TIMEOUT_MS.
    const accept = AbortSignal.timeout(this.config.routing.deliveryTimeoutMs);
    try {
      remote = await untilAborted(this.clients.get(row), accept);
      first = await remote.client.sendMessage(toSendMessageRequest(message), { signal: accept });
    } catch (error) {
      const refusal = this.explain(error, row.id, 'did not accept the message', remote?.secret ?? null);
      this.metrics.a2aOutbound.labels('send', refusal.reason ?? refusal.code).inc();
      throw refusal;
    } finally {
      const left = (this.inflight.get(row.id) ?? 1) - 1;
      if (left > 0) this.inflight.set(row.id, left);
      else this.inflight.delete(row.id);
    }
    this.metrics.a2aOutbound.labels('send', 'accepted').inc();
    if (!message.expect_result || !message.result_deadline) return;
    const deadline = Date.parse(message.result_deadline);
    void this.follow(remote.client, remote.secret, first, message, target, deadline, reply).catch((error: Error) =>
      this.logger.warn(`result of remote agent ${target.agentId} (conversation ${message.conversation_id}) lost: ${error.message}`),
    );
  }

  /** Polls the task until it settles or the deadline passes, then hands its result to `reply` and audits it. */
  private async follow(
    client: Client,
    secret: string | null,
    first: Message | Task,
    message: MessageEvent,
    target: RemoteAgent,
    deadline: number,
    reply: (result: ResultEvent) => Promise<boolean>,
  ): Promise<void> {
    let answer = first;
    let result: ResultEvent | null = null;
    let waitMs = FIRST_POLL_MS;
    let failures = 0;
    while (isTask(answer) && !isSettled(answer)) {
      const left = deadline - Date.now();
      if (left <= 0) return this.abandon(client, answer.id, target.agentId);
      await sleep(Math.min(waitMs, left));
      waitMs = Math.min(MAX_POLL_MS, Math.round(waitMs * 1.5));
      if (Date.now() >= deadline) return this.abandon(client, answer.id, target.agentId);
      try {
        answer = await client.getTask(
          { tenant: '', id: answer.id, historyLength: 0 },
          { signal: AbortSignal.timeout(Math.max(1, Math.min(this.config.a2aOutbound.timeoutMs, deadline - Date.now()))) },
        );
        failures = 0;
      } catch (error) {
        if (Date.now() >= deadline) return this.abandon(client, answer.id, target.agentId);
        if (++failures < MAX_POLL_FAILURES) continue;
        const refusal = this.explain(error, target.agentId, 'stopped answering about its task', secret);
        result = failureResult(message.conversation_id, target.agentId, refusal.code, refusal.message);
        break;
      }
    }
    result ??= toResult(answer, message.conversation_id, target.agentId);
    // Checked before anything walks or serializes it (the scrub, the delivery, the audit hash).
    if (exceedsJsonDepth(result.result, this.config.limits.jsonDepth)) {
      result = failureResult(
        message.conversation_id,
        target.agentId,
        'INVALID_MESSAGE',
        `the remote agent's reply is nested deeper than ${this.config.limits.jsonDepth} levels (MAX_JSON_DEPTH)`,
      );
    }
    if (secret) result = scrub(result, secret);
    const delivered = await reply(result);
    this.metrics.a2aOutbound.labels('result', delivered ? (result.success ? 'success' : 'failure') : 'dropped').inc();
    if (!delivered) return;
    this.audit.record({
      action: 'message.routed',
      tenant_id: target.tenantId,
      actor: { type: 'agent', id: target.agentId },
      subject: message.from_agent_id,
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: null,
      details: {
        protocol: 'a2a',
        a2a: { remote: true, ...(result.metadata.a2a as Record<string, unknown> | undefined) },
        kind: 'result',
        conversation_id: message.conversation_id,
        success: result.success,
      },
      content: { result: result.result ?? null, error: result.error ?? null },
    });
  }

  /** The sender's time is up (routing answers TIMEOUT): ask the remote to stop, best effort. */
  private abandon(client: Client, taskId: string, agentId: string): void {
    client
      .cancelTask({ tenant: '', id: taskId, metadata: undefined }, { signal: AbortSignal.timeout(this.config.a2aOutbound.timeoutMs) })
      .catch((error: Error) => this.logger.debug(`CancelTask of a timed-out task of ${agentId} failed: ${error.name}`));
  }

  /**
   * A failure as the sender gets it: the gateway's own refusals as they are (egress, time-outs,
   * size, credential), anything the SDK or the remote raised as UNAVAILABLE naming its kind. The
   * remote's own words are logged at debug (credential scrubbed), never passed on in a refusal.
   */
  private explain(error: unknown, agentId: string, what: string, secret: string | null): GatewayError {
    if (error instanceof GatewayError) return error;
    const cause = (error as { cause?: unknown })?.cause;
    if (cause instanceof GatewayError) return cause;
    if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
      return new GatewayError('TIMEOUT', `remote agent "${agentId}" ${what} in time (DELIVERY_TIMEOUT_MS)`, {
        reason: 'a2a_remote_timeout',
      });
    }
    const name = (error as Error)?.name ?? 'Error';
    const code = (error as { envelopeCode?: unknown; code?: unknown })?.envelopeCode ?? (error as { code?: unknown })?.code;
    const detail = typeof code === 'number' ? `${name} ${code}` : name;
    let said = String((error as Error)?.message ?? error).slice(0, 500);
    if (secret) said = said.split(secret).join('***');
    // Debug: a remote that is down would otherwise write a line per send (the refusal has its own, rate-limited line).
    this.logger.debug(`remote agent ${agentId} ${what}: ${said}`);
    // No `cause`: the remote's words could quote the credential, and causes may be logged as they are.
    return new GatewayError('UNAVAILABLE', `remote agent "${agentId}" ${what} (${detail})`, { reason: 'a2a_remote_error' });
  }
}

/** `result` with every occurrence of `secret` replaced: a remote echoing its credential must not spread it. */
function scrub(result: ResultEvent, secret: string): ResultEvent {
  const text = JSON.stringify(result);
  const escaped = JSON.stringify(secret).slice(1, -1);
  if (!text.includes(escaped)) return result;
  return JSON.parse(text.split(escaped).join('***')) as ResultEvent;
}

/** `promise`, or the signal's reason once it aborts (the work itself goes on, bounded by its own time-outs). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
