import type { ArgumentsHost } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { MetricsService, RefusalLog } from '#libs/observability';
import { GatewayError } from '#libs/protocol';
import { HttpErrorFilter } from './http-error.filter.js';

/** A fake Express request/response pair: only what the filter touches. */
function exchange(options: { headersSent?: boolean; requestId?: string } = {}) {
  const response = {
    headersSent: options.headersSent ?? false,
    headers: {} as Record<string, unknown>,
    statusCode: 0,
    body: undefined as unknown,
    destroyed: false,
    setHeader(name: string, value: unknown) {
      this.headers[name.toLowerCase()] = value;
    },
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(body: unknown) {
      if (this.headersSent) throw new Error('ERR_HTTP_HEADERS_SENT');
      this.body = body;
    },
    destroy() {
      this.destroyed = true;
    },
  };
  const request = {
    method: 'GET',
    path: '/admin/v1/audit/export',
    headers: options.requestId ? { 'x-request-id': options.requestId } : {},
    socket: { remoteAddress: '127.0.0.1' },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }) } as unknown as ArgumentsHost;
  return { response, host };
}

describe('HttpErrorFilter', () => {
  const filter = () => new HttpErrorFilter(new RefusalLog(new MetricsService()));

  it('answers the contract body with a request id that is also the X-Request-Id header', () => {
    const { response, host } = exchange();
    filter().catch(new GatewayError('FORBIDDEN', 'no'), host);
    const body = response.body as { error: { code: string; request_id: string } };
    expect(response.statusCode).toBe(403);
    expect(body.error).toMatchObject({ code: 'FORBIDDEN', message: 'no', request_id: expect.any(String) });
    expect(response.headers['x-request-id']).toBe(body.error.request_id);
  });

  it('keeps a usable request id the client sent', () => {
    const { response, host } = exchange({ requestId: 'trace-abc-12345' });
    filter().catch(new GatewayError('NOT_FOUND', 'gone'), host);
    expect(response.headers['x-request-id']).toBe('trace-abc-12345');
  });

  it('hides an unexpected error behind UNAVAILABLE and its request id', () => {
    const { response, host } = exchange();
    filter().catch(new Error('connection string postgresql://u:secret@db'), host);
    expect(response.statusCode).toBe(503);
    expect(JSON.stringify(response.body)).not.toContain('secret');
  });

  it('does not write a second answer once the response started: it closes the connection', () => {
    const { response, host } = exchange({ headersSent: true });
    const status = vi.spyOn(response, 'status');
    expect(() => filter().catch(new GatewayError('UNAVAILABLE', 'stream broke'), host)).not.toThrow();
    expect(status).not.toHaveBeenCalled();
    expect(response.destroyed).toBe(true);
  });
});
