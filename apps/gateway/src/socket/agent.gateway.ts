import { WebSocketGateway, type OnGatewayInit } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { MetricsService } from '#libs/observability';
import { GATEWAY_NAMESPACE, GatewayError, type ConnectErrorData, type ErrorAck } from '#libs/protocol';
import { AgentCommandDispatcher, SessionAdmission, SessionLifecycle, type AdmittedSession, type Session } from '#libs/routing';
import { admittedAttributes, traceConnect } from '../auth/connect-trace.js';
import { CredentialExtractor, bearerToken } from '../auth/credential-extractor.js';
import { FrameMeter } from './frame-meter.js';
import { SocketIoConnection } from './socket-io.connection.js';

interface SocketData {
  admitted?: AdmittedSession;
  /** Gives back what admission reserved if the client leaves before the connection opens; removed once it opens. */
  abandonGuard?: () => void;
  session?: Session;
}

/**
 * The socket.io transport of the agent plane (contract §3): a thin adapter. The handshake goes to
 * the session service; every event goes, with its measured size, to the dispatcher; the result or
 * the refusal goes back in the ack.
 */
@WebSocketGateway({ namespace: GATEWAY_NAMESPACE })
export class AgentGateway implements OnGatewayInit<Namespace> {
  constructor(
    private readonly admission: SessionAdmission,
    private readonly sessions: SessionLifecycle,
    private readonly dispatcher: AgentCommandDispatcher,
    private readonly metrics: MetricsService,
    private readonly extractor: CredentialExtractor,
  ) {}

  afterInit(namespace: Namespace): void {
    // Only /gateway exists: a client connecting to the main namespace is refused, not left idle.
    namespace.server
      .of('/')
      .use((_socket, next) => next(connectError(new GatewayError('INVALID_MESSAGE', `connect to the ${GATEWAY_NAMESPACE} namespace`))));
    namespace.use((socket, next) => {
      void traceConnect('socket.io', socket.handshake.headers, (span) =>
        this.admit(socket).then(
          (admitted) => {
            admittedAttributes(span, admitted);
            next();
          },
          (error: unknown) => {
            const auth = socket.handshake.auth as Record<string, unknown> | null;
            const claimedAgentId = typeof auth?.agent_id === 'string' ? auth.agent_id.slice(0, 128) : undefined;
            const refusal = this.admission.refuseConnect(error, { claimedAgentId, remoteAddress: socket.handshake.address });
            this.metrics.connectRefusals.labels(refusal.code).inc();
            next(connectError(refusal));
            throw refusal;
          },
        ),
      ).catch(() => undefined);
    });
    namespace.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  private async admit(socket: Socket): Promise<AdmittedSession> {
    const auth: unknown = socket.handshake.auth;
    if (typeof auth !== 'object' || auth === null || Array.isArray(auth))
      throw new GatewayError('INVALID_MESSAGE', 'handshake auth must be an object');
    const { token, agent_id: agentId, agent_name, capabilities } = auth as Record<string, unknown>;
    if (token !== undefined && typeof token !== 'string')
      throw new GatewayError('INVALID_MESSAGE', 'handshake auth.token must be a string');
    if (agentId !== undefined && typeof agentId !== 'string')
      throw new GatewayError('INVALID_MESSAGE', 'handshake auth.agent_id must be a string');
    // The token comes from `auth` or an Authorization header, never from the query string.
    const credentials = this.extractor.fromRequest(
      socket.request,
      'socket.io',
      token ?? bearerToken(socket.handshake.headers.authorization),
      agentId,
    );
    const admitted = await this.admission.admit(credentials, { agent_name, capabilities });
    const data = socket.data as SocketData;
    data.admitted = admitted;
    // The client may leave between admission and the connection opening.
    data.abandonGuard = () => {
      if (!data.session) this.admission.abandon(admitted);
    };
    socket.conn.once('close', data.abandonGuard);
    return admitted;
  }

  private onConnection(socket: Socket): void {
    const data = socket.data as SocketData;
    if (!data.admitted) {
      socket.disconnect(true);
      return;
    }
    const meter = new FrameMeter(socket);
    const connection = new SocketIoConnection(socket);
    const session = this.sessions.activate(data.admitted, connection);
    data.session = session;
    if (data.abandonGuard) socket.conn.off('close', data.abandonGuard);
    data.abandonGuard = undefined;
    socket.onAny((event: string, ...args: unknown[]) => this.onEvent(session, meter, event, args));
    // One listener per connection: the deliveries waiting for this client's ack fail, then the session goes.
    socket.once('disconnect', () => {
      connection.disconnected();
      this.sessions.detach(session);
    });
  }

  private onEvent(session: Session, meter: FrameMeter, event: string, args: unknown[]): void {
    const frame = meter.take();
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (response: unknown) => void) : undefined;
    const answer = (error: GatewayError): void => ack?.({ error: error.toBody() } satisfies ErrorAck);
    const refuse = (error: GatewayError): void => void this.dispatcher.refuseFrame(session.caller, error, event).then(answer);
    if (frame.binary) return refuse(new GatewayError('INVALID_MESSAGE', 'binary attachments are not supported; send JSON'));
    if (args.length > 1) return refuse(new GatewayError('INVALID_MESSAGE', 'an event takes one payload object and an ack callback'));
    this.dispatcher.dispatch(session.caller, event, args[0], frame.bytes).then(
      (result) => ack?.(result),
      (error: GatewayError) => answer(error),
    );
  }
}

function connectError(error: GatewayError): Error & { data: ConnectErrorData } {
  return Object.assign(new Error(error.message), { data: error.toBody() });
}
