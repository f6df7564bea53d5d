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
  'NOT_FOUND',
  'CONFLICT',
] as const;

/** One of the contract's error codes; callers can `switch` on it exhaustively. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The `{ code, message, retry_after_ms? }` object every transport sends for a refusal. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retry_after_ms?: number;
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

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimit = options.rateLimit;
  }

  /** The wire form: code and message, plus `retry_after_ms` when there is one. */
  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) body.retry_after_ms = this.retryAfterMs;
    return body;
  }

  /** Rebuilds an error from its wire form (used by the SDK and by node-to-node replies). */
  static fromBody(body: ErrorBody): GatewayError {
    return new GatewayError(body.code, body.message, { retryAfterMs: body.retry_after_ms });
  }
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
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
  }
}
