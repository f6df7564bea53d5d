import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { GatewayError } from '#libs/protocol';
import type { EgressPolicy, EgressTarget } from './egress.policy.js';

/** The bounds of every outbound request. */
export interface EgressLimits {
  /** Resolve and connect (TCP and TLS). */
  connectTimeoutMs: number;
  /** The whole request, connect to the last byte of the body. */
  timeoutMs: number;
  /** Largest response body accepted. */
  maxResponseBytes: number;
}

/**
 * A `fetch` for the A2A SDK's client that only goes where {@link EgressPolicy} allows: the host is
 * resolved here (every address checked), the connection is made to the checked address (the
 * `lookup` of the request is pinned to it, so a second DNS answer cannot swap it: no TOCTOU), TLS
 * still verifies the certificate against the host name, redirects are refused rather than
 * followed, and connect time, total time and body size are bounded. `headers` are added to every
 * request (the remote's credential); they are never logged.
 *
 * Failures are `GatewayError`s: FORBIDDEN `egress_refused`, TIMEOUT `a2a_remote_timeout`,
 * PAYLOAD_TOO_LARGE `a2a_response_too_large`, UNAVAILABLE `a2a_remote_unreachable` /
 * `a2a_redirect_refused`. Their messages name host and port, never the path or query.
 */
export function egressFetch(egress: EgressPolicy, limits: EgressLimits, headers: readonly [string, string][] = []): typeof fetch {
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new Error('egressFetch takes a URL, not a Request');
    const url = new URL(input);
    const target = egress.checkUrl(url);
    const deadline = AbortSignal.timeout(limits.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const pinned = await resolveAllowed(egress, target, limits.connectTimeoutMs, signal);
    const requestHeaders = new Headers(init.headers);
    for (const [name, value] of headers) requestHeaders.set(name, value);
    const body = bodyOf(init.body);
    if (body !== undefined) requestHeaders.set('content-length', String(body.byteLength));
    return send({ url, target, pinned, method: init.method ?? 'GET', headers: requestHeaders, body, limits, signal, deadline });
  };
}

/**
 * Resolves `target`'s host (all its addresses, within `timeoutMs`) and checks every address
 * against the egress rules; returns the one to connect to. An IP literal is its own address.
 */
export async function resolveAllowed(
  egress: EgressPolicy,
  target: EgressTarget,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ address: string; family: number }> {
  if (target.ip) return { address: target.ip, family: target.ip.includes(':') ? 6 : 4 };
  let addresses: { address: string; family: number }[];
  try {
    addresses = await withTimeout(lookup(target.host, { all: true, verbatim: true }), timeoutMs, signal, target);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('UNAVAILABLE', `remote A2A agent host ${target.host} does not resolve`, {
      reason: 'a2a_remote_unreachable',
      cause: error,
    });
  }
  // Every address the name has must be allowed: the one connected to is the first.
  for (const { address } of addresses) egress.checkAddress(target, address);
  const first = addresses[0];
  if (!first)
    throw new GatewayError('UNAVAILABLE', `remote A2A agent host ${target.host} has no address`, { reason: 'a2a_remote_unreachable' });
  return first;
}

interface OutgoingRequest {
  url: URL;
  target: EgressTarget;
  /** The checked address the connection must go to. */
  pinned: { address: string; family: number };
  method: string;
  headers: Headers;
  body: Buffer | undefined;
  limits: EgressLimits;
  /** The caller's signal and the request's own deadline together. */
  signal: AbortSignal;
  deadline: AbortSignal;
}

function send({ url, target, pinned, method, headers, body, limits, signal, deadline }: OutgoingRequest): Promise<Response> {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  // The only address this request can connect to, whatever the agent asks of DNS.
  const pinnedLookup: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const outgoing: Record<string, string> = {};
  headers.forEach((value, name) => (outgoing[name] = value));
  return new Promise<Response>((resolvePromise, reject) => {
    let settled = false;
    const fail = (error: GatewayError): void => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(error);
    };
    const onAbort = (): void =>
      fail(
        deadline.aborted
          ? new GatewayError('TIMEOUT', `remote A2A agent at ${where} did not answer within A2A_EGRESS_TIMEOUT_MS`, {
              reason: 'a2a_remote_timeout',
            })
          : new GatewayError('TIMEOUT', `call to the remote A2A agent at ${where} was abandoned (its time is up)`, {
              reason: 'a2a_remote_timeout',
            }),
      );
    const options = {
      method,
      host: target.host,
      port: target.port,
      path: `${url.pathname}${url.search}`,
      headers: outgoing,
      lookup: pinnedLookup,
      // One connection per request: a pooled socket would skip this request's checks.
      agent: false as const,
      ...(url.protocol === 'https:' && target.ip === null && { servername: target.host }),
    };
    const request = (url.protocol === 'https:' ? https : http).request(options, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        return fail(
          new GatewayError(
            'UNAVAILABLE',
            `remote A2A agent at ${where} answered with a redirect (HTTP ${status}); redirects are not followed`,
            {
              reason: 'a2a_redirect_refused',
            },
          ),
        );
      }
      readBody(response, limits.maxResponseBytes, where)
        .then((bytes) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          resolvePromise(toResponse(response, bytes));
        })
        .catch((error: GatewayError) => fail(error));
    });
    const connectTimer = setTimeout(
      () =>
        fail(
          new GatewayError('TIMEOUT', `could not connect to the remote A2A agent at ${where} within A2A_EGRESS_CONNECT_TIMEOUT_MS`, {
            reason: 'a2a_remote_timeout',
          }),
        ),
      limits.connectTimeoutMs,
    );
    connectTimer.unref();
    request.once('socket', (socket) => {
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    request.once('close', () => clearTimeout(connectTimer));
    request.on('error', (error: NodeJS.ErrnoException) =>
      fail(
        new GatewayError('UNAVAILABLE', `could not reach the remote A2A agent at ${where}${error.code ? ` (${error.code})` : ''}`, {
          reason: 'a2a_remote_unreachable',
          cause: error,
        }),
      ),
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    request.end(body);
  });
}

function readBody(response: IncomingMessage, maxBytes: number, where: string): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      return reject(tooLarge(where, maxBytes));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        response.destroy();
        reject(tooLarge(where, maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => resolvePromise(Buffer.concat(chunks)));
    response.once('error', (error) =>
      reject(
        new GatewayError('UNAVAILABLE', `the answer of the remote A2A agent at ${where} broke off`, {
          reason: 'a2a_remote_unreachable',
          cause: error,
        }),
      ),
    );
  });
}

function tooLarge(where: string, maxBytes: number): GatewayError {
  return new GatewayError(
    'PAYLOAD_TOO_LARGE',
    `the answer of the remote A2A agent at ${where} is over A2A_EGRESS_MAX_RESPONSE_BYTES (${maxBytes})`,
    {
      reason: 'a2a_response_too_large',
    },
  );
}

function toResponse(response: IncomingMessage, bytes: Buffer): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const status = response.statusCode ?? 502;
  const nullBody = status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : new Uint8Array(bytes), { status, statusText: response.statusMessage ?? '', headers });
}

function bodyOf(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new Error('egressFetch sends string or byte bodies only');
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal, target: EgressTarget): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatewayError('TIMEOUT', `${target.host} did not resolve within A2A_EGRESS_CONNECT_TIMEOUT_MS`, {
            reason: 'a2a_remote_timeout',
          }),
        ),
      timeoutMs,
    );
    signal.addEventListener(
      'abort',
      () => reject(new GatewayError('TIMEOUT', `call to ${target.host} abandoned`, { reason: 'a2a_remote_timeout' })),
      {
        once: true,
      },
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
