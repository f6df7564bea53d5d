import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { startTracing, stopTracing } from './start-tracing.js';
import { tracing } from './tracing.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined };

describe('startTracing', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await stopTracing();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('registers nothing without an endpoint: the facade runs functions as they are, with no span and no context', async () => {
    expect(await startTracing(loadConfig({}, '0'), quiet)).toBe(false);
    expect(tracing.enabled).toBe(false);
    let seen: unknown = 'unset';
    expect(tracing.run('x', {}, (span) => ((seen = span), 42))).toBe(42);
    expect(seen).toBeUndefined();
    expect(tracing.current()).toBeUndefined();
    expect(tracing.ids()).toBeUndefined();
    // The global provider is still OpenTelemetry's no-op proxy: its spans are not recording.
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    expect(tracing.metadataFor({ trace: { traceparent: 'kept' } })).toEqual({ trace: { traceparent: 'kept' } });
  });

  it('exports in http/protobuf to <endpoint>/v1/traces, child spans under the remote parent', async () => {
    const received: { path: string; type: string; bytes: number }[] = [];
    server = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        received.push({ path: request.url ?? '', type: request.headers['content-type'] ?? '', bytes });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '10' }, '0');
    expect(config.telemetry.traces?.protocol).toBe('http/protobuf');
    expect(await startTracing(config, quiet)).toBe(true);
    expect(tracing.enabled).toBe(true);
    const parent = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    const inner = await tracing.run('outer', { parent }, () =>
      tracing.run('inner', {}, async () => {
        await new Promise((r) => setTimeout(r, 1));
        return { current: tracing.current(), ids: tracing.ids() };
      }),
    );
    expect(inner.ids?.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(inner.current?.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${inner.ids?.span_id}-01`);
    expect(() =>
      tracing.run('failing', {}, () => {
        throw Object.assign(new Error('no'), { code: 'FORBIDDEN' });
      }),
    ).toThrow('no');
    await stopTracing();
    expect(tracing.enabled).toBe(false);
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]).toMatchObject({ path: '/v1/traces', type: 'application/x-protobuf' });
    expect(received.reduce((n, r) => n + r.bytes, 0)).toBeGreaterThan(50);
  });
});
