import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { GatewayConfig } from '#libs/config';

// Room above MAX_MESSAGE_BYTES so an oversize frame reaches the gateway and gets PAYLOAD_TOO_LARGE
// instead of socket.io dropping the connection; frames past this hard cap are cut by socket.io.
const HARD_CAP_FACTOR = 2;
const HARD_CAP_SLACK = 64 * 1024;

/** socket.io with the gateway's limits: frame cap, no CORS, no served client, no EIO3. */
export class GatewayIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: GatewayConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      path: '/socket.io',
      serveClient: false,
      allowEIO3: false,
      maxHttpBufferSize: this.config.agentPlane.maxMessageBytes * HARD_CAP_FACTOR + HARD_CAP_SLACK,
      // Transport-level liveness; the application-level heartbeat is the gateway's own.
      pingInterval: 25_000,
      pingTimeout: 20_000,
      connectTimeout: 10_000,
      // Upgrades on other paths (the plain WebSocket endpoint) are not socket.io's to destroy.
      destroyUpgrade: false,
    } as ServerOptions);
  }

  /**
   * Nest's adapter builds an RxJS pipeline per socket (a shared `disconnect` observable and one
   * stream per `@SubscribeMessage` handler). The agent gateway has no such handler: it takes every
   * event through one `onAny` listener, so there is nothing to bind, and skipping the empty
   * pipeline saves ~2 KB of heap per connection.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (handlers.length > 0) super.bindMessageHandlers(socket, handlers, transform);
  }
}
