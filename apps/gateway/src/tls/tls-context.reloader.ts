import type { Server } from 'node:https';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { tlsOptions } from './tls-options.js';

/**
 * Re-reads the TLS files every `TLS_RELOAD_S` and swaps them into the listener without a restart:
 * rotated certificates and fresh CRLs take effect for new connections. A file that cannot be read
 * keeps the previous context (logged).
 */
@Injectable()
export class TlsContextReloader implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TlsContext');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const tls = this.config.tls;
    if (!tls) return;
    this.timer = setInterval(() => this.reload(), tls.reloadS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Reads the TLS files again and swaps them in for new connections (what the timer does every
   * `TLS_RELOAD_S`); connections already open keep theirs. False, logged, when they cannot be used.
   */
  reload(): boolean {
    const tls = this.config.tls;
    if (!tls) return false;
    try {
      const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
      server.setSecureContext(tlsOptions(tls));
      return true;
    } catch (error) {
      this.logger.error(`TLS files not reloaded, keeping the previous ones: ${(error as Error).message}`);
      return false;
    }
  }
}
