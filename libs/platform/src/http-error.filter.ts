import { randomUUID } from 'node:crypto';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { GatewayError, httpStatusOf, type ErrorCode } from '#libs/protocol';

/**
 * The one mapping from errors to HTTP: a `GatewayError` keeps its code and message; framework
 * errors (unknown route, malformed JSON, body too large) get the matching contract code; anything
 * else is logged with a reference id and answered `UNAVAILABLE` with only that id.
 * Body: `{ error: { code, message, retry_after_ms? } }`.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = this.toGatewayError(exception);
    const status = httpStatusOf(error.code);
    if (error.retryAfterMs !== undefined) response.setHeader('Retry-After', Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    if (error.rateLimit) {
      response.setHeader('RateLimit-Limit', error.rateLimit.limit);
      response.setHeader('RateLimit-Remaining', error.rateLimit.remaining);
      response.setHeader('RateLimit-Reset', Math.max(1, Math.ceil(error.rateLimit.resetMs / 1000)));
    }
    response.status(status).json({ error: error.toBody() });
  }

  private toGatewayError(exception: unknown): GatewayError {
    if (exception instanceof GatewayError) return exception;
    const status = exception instanceof HttpException ? exception.getStatus() : bodyParserStatus(exception);
    const code = status === null ? null : codeForStatus(status);
    if (code) return new GatewayError(code, messageFor(code, exception));
    const ref = randomUUID();
    this.logger.error(`unexpected failure (ref ${ref}): ${(exception as Error)?.stack ?? String(exception)}`);
    return new GatewayError('UNAVAILABLE', `internal error (ref ${ref})`);
  }
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
