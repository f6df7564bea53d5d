import { Inject, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError, exceedsJsonDepth } from '#libs/protocol';

/**
 * Refuses a JSON body nested deeper than `MAX_JSON_DEPTH` before any schema, service or Postgres
 * walks it (recursive serializers overflow the stack on a few thousand levels), on every HTTP
 * route of both planes. A global pipe: it runs before each route's own validation.
 */
@Injectable()
export class JsonDepthPipe implements PipeTransform {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && exceedsJsonDepth(value, this.config.limits.jsonDepth)) {
      throw new GatewayError('INVALID_MESSAGE', `body: nested deeper than ${this.config.limits.jsonDepth} levels (MAX_JSON_DEPTH)`);
    }
    return value;
  }
}
