import type * as dns from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEgressEntry, type EgressAllowEntry } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { egressFetch } from './egress.fetch.js';
import { EgressPolicy } from './egress.policy.js';

/*
 * Real: egressFetch against a real HTTP server on 127.0.0.1. Faked: DNS (node:dns/promises
 * `lookup`) for the made-up names `*.egress.test`, so that what a name resolves to is the test's
 * choice; the OS cannot resolve those names at all, so a request that reaches the server proves it
 * connected to the address egressFetch checked and pinned.
 */
const answers = new Map<string, { address: string; family: number }[]>();
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof dns>();
  return {
    ...real,
    lookup: (host: string, options: unknown) => {
      const answer = answers.get(host);
      return answer ? Promise.resolve(answer) : (real.lookup as (h: string, o: unknown) => Promise<unknown>)(host, options);
    },
  };
});

const limits = { connectTimeoutMs: 1_000, timeoutMs: 1_000, maxResponseBytes: 1_024 };

function policy(...entries: string[]): EgressPolicy {
  return new EgressPolicy(entries.map((e) => parseEgressEntry(e)).filter((e): e is EgressAllowEntry => e !== null));
}

async function refusalOf(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('egressFetch', () => {
  let server: Server;
  let port: number;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
      if (req.url === '/big') return res.writeHead(200, { 'content-type': 'application/json' }).end('x'.repeat(4_096));
      if (req.url === '/big-chunked') {
        res.writeHead(200);
        for (let i = 0; i < 8; i++) res.write('y'.repeat(512));
        return res.end();
      }
      if (req.url === '/hang') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, method: req.method }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    answers.set('agent.egress.test', [{ address: '127.0.0.1', family: 4 }]);
    answers.set('mixed.egress.test', [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ]);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('connects to the address it resolved and checked, with the host name kept in Host, and adds the credential header', async () => {
    const fetchImpl = egressFetch(policy('127.0.0.1/32'), limits, [['authorization', 'Bearer t0ken']]);
    const response = await fetchImpl(`http://agent.egress.test:${port}/rpc?x=1`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, method: 'POST' });
    const request = seen.at(-1)!;
    expect(request.url).toBe('/rpc?x=1');
    expect(request.headers.host).toBe(`agent.egress.test:${port}`);
    expect(request.headers.authorization).toBe('Bearer t0ken');
    expect(request.headers['content-length']).toBe('7');
  });

  it('refuses a host when any of its addresses is refused', async () => {
    const refusal = await refusalOf(egressFetch(policy('127.0.0.1/32'), limits)(`http://mixed.egress.test:${port}/`));
    expect(refusal).toMatchObject({ code: 'FORBIDDEN', reason: 'egress_refused' });
    expect(refusal.message).toContain('10.0.0.1, a private address');
  });

  it('refuses a loopback address unless listed, before connecting', async () => {
    const before = seen.length;
    const refusal = await refusalOf(egressFetch(policy('agent.egress.test'), limits)(`http://agent.egress.test:${port}/`));
    expect(refusal).toMatchObject({ code: 'FORBIDDEN', reason: 'egress_refused' });
    expect(seen.length).toBe(before);
  });

  it('refuses a redirect instead of following it', async () => {
    const refusal = await refusalOf(egressFetch(policy(`127.0.0.1:${port}`), limits)(`http://127.0.0.1:${port}/redirect`));
    expect(refusal).toMatchObject({ code: 'UNAVAILABLE', reason: 'a2a_redirect_refused' });
    expect(refusal.message).toContain('HTTP 302');
  });

  it('refuses a body over the size cap, declared or streamed', async () => {
    const fetchImpl = egressFetch(policy(`127.0.0.1:${port}`), limits);
    expect(await refusalOf(fetchImpl(`http://127.0.0.1:${port}/big`))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'a2a_response_too_large',
    });
    expect(await refusalOf(fetchImpl(`http://127.0.0.1:${port}/big-chunked`))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('ends a request the server never answers in TIMEOUT, and honours the caller abort signal', async () => {
    const fetchImpl = egressFetch(policy(`127.0.0.1:${port}`), { ...limits, timeoutMs: 300 });
    expect(await refusalOf(fetchImpl(`http://127.0.0.1:${port}/hang`))).toMatchObject({ code: 'TIMEOUT', reason: 'a2a_remote_timeout' });
    const abort = new AbortController();
    const pending = egressFetch(policy(`127.0.0.1:${port}`), { ...limits, timeoutMs: 60_000 })(`http://127.0.0.1:${port}/hang`, {
      signal: abort.signal,
    });
    abort.abort();
    expect(await refusalOf(pending)).toMatchObject({ code: 'TIMEOUT' });
  });

  it('is UNAVAILABLE when nothing listens, naming host and port but not the path', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const free = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(free));
      });
    });
    const refusal = await refusalOf(egressFetch(policy(`127.0.0.1:${closed}`), limits)(`http://127.0.0.1:${closed}/secret-path?key=k`));
    expect(refusal).toMatchObject({ code: 'UNAVAILABLE', reason: 'a2a_remote_unreachable' });
    expect(refusal.message).toContain(`127.0.0.1:${closed}`);
    expect(refusal.message).not.toContain('secret-path');
  });
});
