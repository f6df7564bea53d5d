import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { redactUrl, type GatewayConfig } from '#libs/config';
import { startTracing, stopTracing } from '#libs/telemetry';

/**
 * Starts OpenTelemetry tracing for this process when an OTLP endpoint is configured (before any
 * module is created, so every span has a provider), and says so in one line without the headers
 * or a password of the URL. Off otherwise: nothing is registered.
 */
export async function startProcessTracing(config: GatewayConfig): Promise<void> {
  const traces = config.telemetry.traces;
  if (traces === null) return;
  const log = new Logger('OpenTelemetry');
  await startTracing(config, {
    error: (message: string) => log.error(message),
    warn: (message: string) => log.warn(message),
    info: (message: string) => log.log(message),
    debug: (message: string) => log.debug(message),
    verbose: (message: string) => log.verbose(message),
  });
  log.log({
    event: 'tracing',
    endpoint: redactUrl(traces.url),
    protocol: traces.protocol,
    sampler: config.telemetry.sampler.name,
    ...(config.telemetry.sampler.name.endsWith('traceidratio') && { sampler_arg: config.telemetry.sampler.ratio }),
    service_name: config.telemetry.serviceName,
  });
}

/** Exports the spans still batched when the process's (first) application shuts down. */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}
