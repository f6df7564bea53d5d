import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError, WEBSOCKET_PATH, closeCodeOfRefusal, parseClientFrame, type FrameId } from '#libs/protocol';
import { AgentCommandDispatcher, SessionAdmission, SessionLifecycle, type AdmittedSession, type Session } from '#libs/routing';
import { admittedAttributes, traceConnect } from '../auth/connect-trace.js';
import { CredentialExtractor, bearerToken } from '../auth/credential-extractor.js';
import { WebSocketConnection } from './websocket.connection.js';

// As for socket.io: room above MAX_MESSAGE_BYTES so an oversize frame is answered PAYLOAD_TOO_LARGE
// and the connection lives; past this hard cap `ws` closes the connection with 1009.
const HARD_CAP_FACTOR = 2;
const HARD_CAP_SLACK = 64 * 1024;

/**
 * The plain WebSocket transport of the agent plane (contract §4) at `/gateway/connect`, on the
 * agent listener next to socket.io: a thin adapter. The connect request is admitted by the same
 * session service (authentication, connect limits, presence) before the upgrade completes; every
 * text frame goes, with its size, to the same dispatcher as socket.io events; the answer goes back
 * as an `ack` or `error` frame carrying the frame's `id`. A WebSocket ping every
 * `WS_PING_INTERVAL_S` drops connections whose peer stopped answering.
 */
@Injectable()
export class WebSocketTransport implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebSocketTransport');
  private readonly server: WebSocketServer;
  private readonly connections = new Set<WebSocketConnection>();
  private pinger: NodeJS.Timeout | undefined;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly admission: SessionAdmission,
    private readonly sessions: SessionLifecycle,
    private readonly dispatcher: AgentCommandDispatcher,
    private readonly metrics: MetricsService,
    private readonly extractor: CredentialExtractor,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: config.agentPlane.maxMessageBytes * HARD_CAP_FACTOR + HARD_CAP_SLACK,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  onApplicationBootstrap(): void {
    const http = this.adapterHost.httpAdapter.getHttpServer() as Server;
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    const intervalMs = this.config.agentPlane.wsPingIntervalS * 1000;
    this.pinger = setInterval(() => this.keepAlive(), intervalMs);
    this.pinger.unref();
  }

  onApplicationShutdown(): void {
    if (this.pinger) clearInterval(this.pinger);
    // Sessions were drained with `server_shutdown` before; whatever is left goes now.
    for (const connection of this.connections) connection.terminate();
    this.server.close();
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path === WEBSOCKET_PATH) {
      void this.connect(request, socket, head);
      return;
    }
    // socket.io answers its own path; it leaves every other upgrade alone (destroyUpgrade: false).
    if (!path?.startsWith('/socket.io/')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  }

  /** Admits the connect request, then completes the upgrade and opens the session, or refuses it with a close code. */
  private async connect(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let admitted: AdmittedSession | undefined;
    let refusal: GatewayError | undefined;
    socket.on('error', ignoreError); // a peer reset before the upgrade is not the process's problem
    await traceConnect('websocket', request.headers, async (span) => {
      try {
        const query = new URL(request.url ?? '/', 'http://gateway').searchParams;
        const card = connectCard(query);
        // The Authorization header; the `token` query parameter only while WS_QUERY_TOKEN allows it.
        const token =
          bearerToken(request.headers.authorization) ??
          (this.config.agentPlane.wsQueryToken ? (query.get('token') ?? undefined) : undefined);
        const credentials = this.extractor.fromRequest(request, 'websocket', token, query.get('agent_id') ?? undefined);
        admitted = await this.admission.admit(credentials, card);
        admittedAttributes(span, admitted);
      } catch (error) {
        refusal = this.admission.refuseConnect(error, {
          claimedAgentId: claimedAgentOf(request),
          remoteAddress: request.socket.remoteAddress ?? 'unknown',
        });
        this.metrics.connectRefusals.labels(refusal.code).inc();
        throw refusal;
      }
    }).catch(() => undefined);
    if (socket.destroyed || !socket.writable) {
      if (admitted) this.admission.abandon(admitted);
      return;
    }
    // `ws` refuses a malformed handshake (bad key or version) by closing the socket without calling
    // back: the presence reserved for it is released then. The listener goes once the upgrade is
    // done: left on the socket, a closure of this function would keep its context (the request and
    // its headers) alive as long as the connection.
    const abandon = (): void => {
      if (admitted) this.admission.abandon(admitted);
    };
    socket.once('close', abandon);
    this.server.handleUpgrade(request, socket, head, (ws) => {
      socket.removeListener('close', abandon);
      const connection = new WebSocketConnection(ws);
      if (!admitted) {
        const error = refusal ?? new GatewayError('UNAVAILABLE', 'connection could not be admitted');
        connection.refuse(error, closeCodeOfRefusal(error.code));
        return;
      }
      this.open(ws, connection, admitted);
    });
  }

  private open(ws: WebSocket, connection: WebSocketConnection, admitted: AdmittedSession): void {
    this.connections.add(connection);
    const session = this.sessions.activate(admitted, connection);
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(session, connection, data, isBinary));
    ws.on('error', (error: Error) => this.logger.debug(`connection ${session.id}: ${error.message}`));
    ws.once('close', () => {
      this.connections.delete(connection);
      this.sessions.detach(session);
    });
  }

  private onFrame(session: Session, connection: WebSocketConnection, data: RawData, isBinary: boolean): void {
    const bytes = byteLength(data);
    const refuse = (id: FrameId | undefined, error: GatewayError): void => {
      void this.dispatcher.refuseFrame(session.caller, error).then((answer) => connection.sendError(id, answer));
    };
    if (isBinary) return refuse(undefined, new GatewayError('INVALID_MESSAGE', 'binary frames are not supported; send JSON text frames'));
    const frame = parseClientFrame(rawText(data), bytes > this.config.agentPlane.maxMessageBytes);
    if (!frame.ok) return refuse(frame.id, frame.error);
    this.dispatcher.dispatch(session.caller, frame.type, frame.payload, bytes).then(
      (ack) => {
        if (frame.id !== undefined) connection.sendAck(frame.id, ack);
      },
      (error: GatewayError) => connection.sendError(frame.id, error),
    );
  }

  /** Pings every connection; one that did not answer the previous ping is dropped (its close event detaches the session). */
  private keepAlive(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }
}

/** An error listener that keeps nothing alive (an arrow made in `connect` would keep its whole context). */
function ignoreError(): void {}

/** `agent_name` and `capabilities` (a JSON array, as in the seed) of the connect URL; the session service validates them. */
function connectCard(query: URLSearchParams): Record<string, unknown> {
  const raw = query.get('capabilities');
  let capabilities: unknown;
  if (raw !== null) {
    try {
      capabilities = JSON.parse(raw);
    } catch {
      throw new GatewayError('INVALID_MESSAGE', 'capabilities: must be a JSON array of strings, e.g. ["search","analyze"]');
    }
  }
  return {
    ...(query.get('agent_name') !== null && { agent_name: query.get('agent_name') }),
    ...(raw !== null && { capabilities }),
  };
}

/** The `agent_id` a refused connect request claimed, for its log line (at most 128 characters). */
function claimedAgentOf(request: IncomingMessage): string | undefined {
  try {
    return new URL(request.url ?? '/', 'http://gateway').searchParams.get('agent_id')?.slice(0, 128);
  } catch {
    return undefined;
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return data instanceof ArrayBuffer ? Buffer.from(data).toString('utf8') : data.toString('utf8');
}
