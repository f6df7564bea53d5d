import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigError } from './config.schema.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, '0');
  } catch (e) {
    return (e as ConfigError).problems;
  }
  return [];
}

describe('OpenTelemetry configuration (OTEL_*)', () => {
  it('is off with no endpoint, whatever else is set', () => {
    expect(loadConfig({}, '0').telemetry.traces).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on' }, '0').telemetry.traces).toBeNull();
  });

  it('posts to <endpoint>/v1/traces in http/protobuf by default, or to the traces endpoint as is', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, '0').telemetry.traces).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
    });
    const traces = loadConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
      '0',
    ).telemetry.traces;
    expect(traces).toMatchObject({ url: 'https://traces.example.com/otlp/v1/traces', protocol: 'http/json' });
    expect(
      loadConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
        },
        '0',
      ).telemetry.traces?.protocol,
    ).toBe('http/protobuf');
  });

  it('stays off when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, '0').telemetry.traces).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, '0').telemetry.traces).toBeNull();
  });

  it('reads headers (decoded, traces-specific ones winning), resource attributes, sampler and batching', () => {
    const telemetry = loadConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D%3D,x-tenant=one',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=two',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, team=agents',
        OTEL_SERVICE_NAME: 'gw-eu',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.01',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      '0',
    ).telemetry;
    expect(telemetry.traces?.headers).toEqual({ 'api-key': 'abc==', 'x-tenant': 'two' });
    expect(telemetry.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod', team: 'agents' });
    expect(telemetry.serviceName).toBe('gw-eu');
    expect(telemetry.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.01 });
    expect(telemetry.batch).toEqual({ scheduleDelayMs: 200, maxQueueSize: 2048, maxExportBatchSize: 512 });
  });

  it('refuses grpc, unknown samplers, ratios outside [0, 1], bad URLs, and a batch larger than the queue, never echoing headers', () => {
    const found = problems({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign-secret-value',
    });
    expect(found.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL grpc is not supported/);
    expect(found.join('\n')).toMatch(/OTEL_TRACES_SAMPLER must be one of/);
    expect(found.join('\n')).toMatch(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
    expect(found.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(found.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_HEADERS must be a header list/);
    expect(found.join('\n')).not.toContain('secret-value');
    expect(problems({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' })).toEqual([
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE (200 > 100)',
    ]);
  });
});
