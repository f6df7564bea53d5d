import type { Logger } from '@nestjs/common';
import type { RefusalContext, RefusalLog } from '#libs/observability';
import { GatewayError } from '#libs/protocol';

/**
 * A failure of an MCP request as the client may see it: a `GatewayError` keeps its code and
 * message, anything else becomes `UNAVAILABLE` and is logged with its stack; either way it gets a
 * request id and a refusal log line (once: an error the dispatcher noted keeps its id).
 */
export function mcpRefusal(error: unknown, context: RefusalContext, refusals: RefusalLog, logger: Logger): GatewayError {
  if (error instanceof GatewayError) return refusals.note(error, context);
  const refusal = refusals.note(
    new GatewayError('UNAVAILABLE', 'internal error; the gateway logged it under this request_id', { cause: error }),
    context,
  );
  logger.error(`unexpected failure of ${context.where} (request_id ${refusal.requestId}): ${(error as Error)?.stack ?? String(error)}`);
  return refusal;
}
