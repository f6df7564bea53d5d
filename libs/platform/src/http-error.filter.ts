import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RefusalLog } from '#libs/observability';
import { GatewayError, httpStatusOf, type ErrorCode } from '#libs/protocol';

/** A correlation id a client may send in `X-Request-Id` and see again on the refusal. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The one mapping from errors to HTTP: a `GatewayError` keeps its code and message; framework
 * errors (unknown route, malformed JSON, body too large) get the matching contract code; anything
 * else is logged with its stack and answered `UNAVAILABLE`. Every error answer carries a
 * `request_id` (the client's `X-Request-Id` when it sent a usable one), also in the `X-Request-Id`
 * header and on the refusal's log line. Body: `{ error: { code, message, retry_after_ms?, reason?,
 * request_id } }`. A failure after the response started (a stream cut mid-way) cannot be answered:
 * it is logged and the connection closed.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly refusals: RefusalLog) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    const where = `http ${request.method} ${request.path}`.slice(0, 200);
    const error = toGatewayError(exception);
    const sent = request.headers['x-request-id'];
    this.refusals.note(error, {
      where,
      remoteAddr: request.socket.remoteAddress ?? null,
      requestId: typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : undefined,
    });
    if (error.cause === exception)
      this.logger.error(
        `unexpected failure of ${where} (request_id ${error.requestId}): ${(exception as Error)?.stack ?? String(exception)}`,
      );
    if (response.headersSent) {
      this.logger.warn(`${where} failed after the response started (request_id ${error.requestId}): ${error.code}; connection closed`);
      response.destroy();
      return;
    }
    const status = httpStatusOf(error.code);
    if (error.requestId !== undefined) response.setHeader('X-Request-Id', error.requestId);
    if (error.retryAfterMs !== undefined) response.setHeader('Retry-After', Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    if (error.rateLimit) {
      response.setHeader('RateLimit-Limit', error.rateLimit.limit);
      response.setHeader('RateLimit-Remaining', error.rateLimit.remaining);
      response.setHeader('RateLimit-Reset', Math.max(1, Math.ceil(error.rateLimit.resetMs / 1000)));
    }
    response.status(status).json({ error: error.toBody() });
  }
}

/** The contract error of an exception; an unexpected one becomes `UNAVAILABLE` with it as `cause`. */
function toGatewayError(exception: unknown): GatewayError {
  if (exception instanceof GatewayError) return exception;
  const status = exception instanceof HttpException ? exception.getStatus() : bodyParserStatus(exception);
  const code = status === null ? null : codeForStatus(status);
  if (code) return new GatewayError(code, messageFor(code, exception));
  return new GatewayError('UNAVAILABLE', 'internal error; the gateway logged it under this request_id', { cause: exception });
}

// Errors of the JSON body parser (http-errors) carry a status and `expose: true`.
function bodyParserStatus(exception: unknown): number | null {
  const candidate = exception as { status?: unknown; expose?: unknown };
  return candidate?.expose === true && typeof candidate.status === 'number' ? candidate.status : null;
}

function messageFor(code: ErrorCode, exception: unknown): string {
  switch (code) {
    case 'NOT_FOUND':
      return 'no such route';
    case 'PAYLOAD_TOO_LARGE':
      return 'request body is over the size limit';
    case 'INVALID_MESSAGE':
      return /JSON/.test((exception as Error).message)
        ? `malformed JSON body (${(exception as Error).message})`
        : (exception as Error).message;
    default:
      return (exception as Error).message;
  }
}

function codeForStatus(status: number): ErrorCode | null {
  switch (status) {
    case 400:
      return 'INVALID_MESSAGE';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMIT';
    default:
      return null;
  }
}
