import { DiagLogLevel, diag, type DiagLogger } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { GatewayConfig } from '#libs/config';
import { tracing } from './tracing.js';

/** The instrumentation scope of every span the gateway makes. */
export const TRACER_NAME = 'agent-gateway';

/** Spans handed to the exporter, by outcome: what `agw_trace_spans_total` reports. */
export const exportStats = { exported: 0, failed: 0 };

let provider: NodeTracerProvider | null = null;

/**
 * Registers the process's tracer provider when `config.telemetry.traces` is set (an OTLP endpoint is
 * configured): spans batched and posted over OTLP/HTTP (protobuf or JSON), W3C trace context
 * propagation, an async-local context manager, the configured sampler. Otherwise registers nothing
 * and {@link tracing} stays off; the SDK is not even loaded (it adds about a second to a start on
 * a busy machine). Once per process; the SDK's own warnings go to `logger`.
 */
export async function startTracing(config: GatewayConfig, logger: DiagLogger): Promise<boolean> {
  const settings = config.telemetry;
  if (provider !== null || settings.traces === null) return provider !== null;
  const [
    { ExportResultCode, W3CTraceContextPropagator },
    json,
    proto,
    { defaultResource, resourceFromAttributes },
    sdk,
    { NodeTracerProvider },
  ] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  if (provider !== null) return true;
  diag.setLogger(logger, DiagLogLevel.WARN);
  const { url, protocol, headers, timeoutMs } = settings.traces;
  const exporterOptions = { url, headers, timeoutMillis: timeoutMs };
  const exporter = protocol === 'http/json' ? new json.OTLPTraceExporter(exporterOptions) : new proto.OTLPTraceExporter(exporterOptions);
  provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        'service.name': settings.serviceName,
        'service.version': config.version,
        // `service.instance.id` (semantic conventions, incubating): the node, as in every audit record.
        'service.instance.id': config.nodeId,
      }),
    ),
    sampler: sampler(sdk, settings.sampler),
    spanProcessors: [
      new sdk.BatchSpanProcessor(new CountingExporter(exporter, ExportResultCode.SUCCESS), {
        scheduledDelayMillis: settings.batch.scheduleDelayMs,
        maxQueueSize: settings.batch.maxQueueSize,
        maxExportBatchSize: settings.batch.maxExportBatchSize,
        exportTimeoutMillis: timeoutMs,
      }),
    ],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  tracing.activate(provider.getTracer(TRACER_NAME, config.version));
  return true;
}

/** Exports what is still batched and stops tracing (at shutdown; bounded by the export timeout). */
export async function stopTracing(): Promise<void> {
  const stopping = provider;
  if (stopping === null) return;
  provider = null;
  try {
    await stopping.shutdown();
  } finally {
    tracing.deactivate();
  }
}

function sampler(sdk: typeof SdkTraceBase, settings: GatewayConfig['telemetry']['sampler']): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  switch (settings.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(settings.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.ratio) });
  }
}

/** The OTLP exporter, counting the spans it exported and those it could not. */
class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly success: ExportResult['code'],
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code === this.success) exportStats.exported += spans.length;
      else exportStats.failed += spans.length;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
