import { Injectable } from '@nestjs/common';
import type { RedisPersistenceMode } from '#libs/protocol';

/** Whether this node still takes new work, and the details `/readyz` reports beside its probes. */
@Injectable()
export class ReadinessState {
  /** Set when SIGTERM starts the drain. */
  draining = false;
  /** The last reading of Redis's persistence settings (the audit queue's durability); null before it. */
  redisPersistence: RedisPersistenceMode | null = null;
}
