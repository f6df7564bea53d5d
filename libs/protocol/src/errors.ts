/**
 * The contract's error codes (contract §6). Every refusal on every transport carries one of these.
 *
 * - `UNAUTHORIZED`: missing, bad, expired or revoked credential; claimed `agent_id` not bound to it.
 * - `FORBIDDEN`: authenticated, but policy denies this action.
 * - `AGENT_NOT_FOUND`: target agent not connected or not visible to the caller.
 * - `INVALID_MESSAGE`: malformed frame, wrong types, unknown event, bad ids.
 * - `PAYLOAD_TOO_LARGE`: frame over `MAX_MESSAGE_BYTES`.
 * - `RATE_LIMIT`: over a rate limit; `retry_after_ms` says when to retry.
 * - `TIMEOUT`: no delivery ack or no result in time.
 * - `UNAVAILABLE`: a dependency the action needs is down.
 * - `LIMIT_EXCEEDED`: a per-session or per-agent resource limit is reached (topics per session,
 *   pending results, open deliveries to one recipient, connections from one address). Retrying the
 *   same request will not help until the client frees some (unsubscribes, waits for its results);
 *   the message names the limit. An extension of the contract's list, documented in docs/protocol.md.
 *
 * Extensions (HTTP only, never on the agent socket transports):
 * - `NOT_FOUND`: no such route or admin resource (an agent target uses `AGENT_NOT_FOUND`).
 * - `CONFLICT`: the admin resource already exists.
 */
export const ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'AGENT_NOT_FOUND',
  'INVALID_MESSAGE',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMIT',
  'TIMEOUT',
  'UNAVAILABLE',
  'LIMIT_EXCEEDED',
  'NOT_FOUND',
  'CONFLICT',
] as const;

/** One of the contract's error codes; callers can `switch` on it exhaustively. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Why an `UNAUTHORIZED` refusal happened, for clients and tests to switch on instead of matching
 * the message text (jose's `ERR_JWT_EXPIRED` beside `JWTExpired`).
 *
 * - `no_credential`: nothing was presented. `method_not_accepted`: a credential of a kind this
 *   gateway does not accept (`AUTH_METHODS`).
 * - `malformed_token`, `unknown_token`, `revoked`, `expired`: the credential itself.
 * - `agent_disabled`: the agent it is bound to is disabled. `not_bound`: no agent is bound to this
 *   IdP subject or certificate. `claimed_id_mismatch`: the claimed `agent_id` is another agent's.
 *   `tenant_mismatch`: a `refresh` credential of another tenant.
 * - `invalid_token`: an IdP token that does not validate (signature, issuer, audience, claims,
 *   unknown key, algorithm, inactive). `missing_claim`: it lacks the claim naming the agent.
 * - `certificate_not_verified`: the client certificate did not chain to `TLS_CLIENT_CA` or is on the
 *   CRL. `invalid_forwarded_certificate`: an unusable `X-Forwarded-Client-Cert`.
 * - `invalid_admin_credential`, `session_expired`, `login_failed`: the admin plane.
 */
export const UNAUTHORIZED_REASONS = [
  'no_credential',
  'method_not_accepted',
  'malformed_token',
  'unknown_token',
  'revoked',
  'expired',
  'agent_disabled',
  'not_bound',
  'claimed_id_mismatch',
  'tenant_mismatch',
  'invalid_token',
  'missing_claim',
  'certificate_not_verified',
  'invalid_forwarded_certificate',
  'invalid_admin_credential',
  'session_expired',
  'login_failed',
] as const;

/** One of {@link UNAUTHORIZED_REASONS}. */
export type UnauthorizedReason = (typeof UNAUTHORIZED_REASONS)[number];

/**
 * The `{ code, message, retry_after_ms?, reason?, request_id? }` object every transport sends for a
 * refusal. `request_id` is on the gateway's log line of the refusal and in its audit record;
 * `reason` refines `UNAUTHORIZED` (and names the limit of `LIMIT_EXCEEDED`).
 */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retry_after_ms?: number;
  reason?: string;
  request_id?: string;
}

/** An acknowledgement that reports a refusal: `{ error: { code, message, retry_after_ms? } }`. */
export interface ErrorAck {
  error: ErrorBody;
}

/** Options for {@link GatewayError}. */
export interface GatewayErrorOptions {
  /** The underlying failure; logged, never sent to a client. */
  cause?: unknown;
  /** For `RATE_LIMIT`: how long the client should wait before retrying. */
  retryAfterMs?: number;
  /** For `RATE_LIMIT`: the bucket's state, for HTTP `RateLimit-*` headers. */
  rateLimit?: { limit: number; remaining: number; resetMs: number };
  /** A machine-readable refinement of the code (an {@link UnauthorizedReason}, a limit's name). */
  reason?: string;
}

/**
 * The one error type of the gateway and its SDK. `message` is safe to show to the client; anything
 * internal belongs in `cause`, which no transport ever serialises.
 *
 * @example
 * throw new GatewayError('AGENT_NOT_FOUND', `agent "${id}" is not connected`);
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly retryAfterMs: number | undefined;
  readonly rateLimit: GatewayErrorOptions['rateLimit'];
  readonly reason: string | undefined;
  /**
   * The correlation id of this refusal, set once by the transport boundary that logged it (the
   * dispatcher, the admission, the HTTP filter) and sent with it.
   */
  requestId: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimit = options.rateLimit;
    this.reason = options.reason;
  }

  /** The wire form: code and message, plus `retry_after_ms`, `reason` and `request_id` when set. */
  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) body.retry_after_ms = this.retryAfterMs;
    if (this.reason !== undefined) body.reason = this.reason;
    if (this.requestId !== undefined) body.request_id = this.requestId;
    return body;
  }

  /** Rebuilds an error from its wire form (used by the SDK and by node-to-node replies). */
  static fromBody(body: ErrorBody): GatewayError {
    const error = new GatewayError(body.code, body.message, {
      retryAfterMs: body.retry_after_ms,
      ...(typeof body.reason === 'string' && { reason: body.reason }),
    });
    if (typeof body.request_id === 'string') error.requestId = body.request_id;
    return error;
  }
}

/** An `UNAUTHORIZED` refusal with its machine-readable reason. */
export function unauthorized(reason: UnauthorizedReason, message: string, options: Omit<GatewayErrorOptions, 'reason'> = {}): GatewayError {
  return new GatewayError('UNAUTHORIZED', message, { ...options, reason });
}

/** A `LIMIT_EXCEEDED` refusal naming the limit (its config key, lower-cased: `max_topics_per_session`). */
export function limitExceeded(limit: string, message: string): GatewayError {
  return new GatewayError('LIMIT_EXCEEDED', message, { reason: limit });
}

/** True when `value` is one of the contract's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** True when an acknowledgement is a refusal rather than a result. */
export function isErrorAck(value: unknown): value is ErrorAck {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error: unknown = value.error;
  return typeof error === 'object' && error !== null && 'code' in error && isErrorCode(error.code);
}

/**
 * The HTTP status for each code (contract §6). The exhaustive switch makes adding a code without
 * a status a compile error.
 */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'AGENT_NOT_FOUND':
      return 404;
    case 'INVALID_MESSAGE':
      return 400;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'RATE_LIMIT':
      return 429;
    case 'TIMEOUT':
      return 504;
    case 'UNAVAILABLE':
      return 503;
    case 'LIMIT_EXCEEDED':
      return 429;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
  }
}
