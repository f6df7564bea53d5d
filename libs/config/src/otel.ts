import * as z from 'zod';

/** The OTLP encodings the gateway's exporter speaks (both over HTTP; gRPC is not built in). */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The samplers of the OTel SDK environment specification (`OTEL_TRACES_SAMPLER`). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSamplerName = (typeof TRACE_SAMPLERS)[number];

export const otlpProtocol = z.string().transform((v, ctx) => {
  if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
  ctx.addIssue({
    code: 'custom',
    message:
      v === 'grpc'
        ? 'grpc is not supported: use http/protobuf (port 4318 of a collector) or http/json'
        : 'must be http/protobuf or http/json',
  });
  return z.NEVER;
});

/**
 * A `key=value,key2=value2` list as the OTel environment specification writes headers and resource
 * attributes (values percent-encoded, W3C Baggage style). Keys and values are bounded.
 */
export const keyValueList = (what: string) =>
  z.string().transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const member of v.split(',')) {
      if (member.trim() === '') continue;
      const at = member.indexOf('=');
      const name = at > 0 ? member.slice(0, at).trim() : '';
      let value: string;
      try {
        value = decodeURIComponent(member.slice(at + 1).trim());
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a ${what} list key=value,…; a value is not valid percent-encoding` });
        return z.NEVER;
      }
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/.test(name) || value.length > 4096) {
        ctx.addIssue({ code: 'custom', message: `must be a ${what} list key=value,… (keys of at most 128 token characters)` });
        return z.NEVER;
      }
      out[name] = value;
    }
    return out;
  });

/** A probability from 0 to 1 (`OTEL_TRACES_SAMPLER_ARG`). */
export const ratio = z
  .string()
  .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, { error: 'must be a number from 0 to 1' })
  .transform(Number);

/** Where an OTLP/HTTP trace exporter posts: the signal URL given, or `<endpoint>/v1/traces` (OTel spec). */
export function tracesUrl(endpoint: string | undefined, tracesEndpoint: string | undefined): string | null {
  if (tracesEndpoint) return tracesEndpoint;
  if (!endpoint) return null;
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}
