import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { GatewayClient } from '#libs/client';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const SERVER = 2; // OTLP SpanKind: SPAN_KIND_SERVER
const CLIENT = 3;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

async function auditDetails(db: pg.Pool, action: string, actor: string): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query<{ details: Record<string, unknown> }>(
    'SELECT details FROM audit_records WHERE action = $1 AND actor_id = $2',
    [action, actor],
  );
  return rows.map((r) => r.details);
}

async function scrape(gateway: GatewayProcess): Promise<string> {
  const response = await fetch(`${gateway.adminUrl}/metrics`, { headers: { authorization: `Bearer ${gateway.env.ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

/** Whether the exposition declares the metric a PromQL expression names (a histogram's `_bucket`/`_sum`/`_count` by its base). */
function declared(exposition: string, name: string): boolean {
  if (exposition.includes(`# TYPE ${name} `)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && new RegExp(`^# TYPE ${base} (histogram|summary)$`, 'm').test(exposition);
}

const metricNames = (expr: string): string[] => [...new Set(expr.match(/\bagw_[a-z0-9_]+/g) ?? [])];

// Real: two gateway processes (the compiled production bootstrap) on one Redis and Postgres, a
// socket.io agent on each, and an OTLP/HTTP receiver taking the JSON encoding they export.
describe('OpenTelemetry traces across two nodes', () => {
  let receiver: OtlpReceiver;
  let one: GatewayProcess;
  let two: GatewayProcess;
  let db: pg.Pool;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    const env = {
      AUTH_METHODS: 'none',
      REDIS_KEY_PREFIX: uniquePrefix(),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: 'agw-e2e',
    };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
    await receiver?.close();
    await db?.end();
  });

  it('exports one trace for a send from node A to node B and its result, continuing the client traceparent', async () => {
    const worker = await connectAgent(two.url, { agentId: uniqueId('otel-worker') });
    const boss = await connectAgent(one.url, { agentId: uniqueId('otel-boss') });
    agents.push(worker, boss);
    const traceId = hex(16);
    const clientSpan = hex(8);
    const traceparent = `00-${traceId}-${clientSpan}-01`;

    const sent = await boss.call('send', {
      to_agent_id: worker.session.agent.agent_id,
      content: [{ type: 'text', text: 'traced' }],
      metadata: { trace: { traceparent, tracestate: 'vendor=abc' }, note: 'kept' },
      expect_result: true,
      timeout_ms: 5_000,
    });
    expect(sent).toMatchObject({ status: 'delivered' });

    // The recipient got the context of node B's delivery span, in the same trace, the rest of its metadata kept.
    const message = worker.messages[0];
    const delivered = (message?.metadata as { trace: { traceparent: string; tracestate?: string }; note: string }).trace;
    expect(message?.metadata).toMatchObject({ note: 'kept' });
    expect(delivered.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(delivered.traceparent).not.toBe(traceparent);
    expect(delivered.tracestate).toBe('vendor=abc');
    const deliverySpanId = delivered.traceparent.split('-')[2];

    // The recipient answers in the trace it was handed (what the SDKs do).
    await worker.call('result', { conversation_id: sent.conversation_id, success: true, result: 'ok', metadata: { trace: delivered } });
    await waitFor(() => boss.results.length === 1, 3_000, 'the result');
    const resultTrace = (boss.results[0]?.metadata as { trace?: { traceparent: string } }).trace;
    expect(resultTrace?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
    const named = (name: string): ReceivedSpan[] => inTrace().filter((s) => s.name === name);
    await waitFor(
      () => named('agw.deliver').length >= 2 && named('agw.result').length === 1 && named('agw.cluster.serve').length >= 2,
      10_000,
      'the spans of both nodes',
    );
    const nodeOf = (span: ReceivedSpan): unknown => span.resource['service.instance.id'];
    const one1 = (name: string, parent?: ReceivedSpan): ReceivedSpan => {
      const found = named(name).filter((s) => parent === undefined || s.parentSpanId === parent.spanId);
      expect(found, `${name} under ${parent?.name ?? 'anything'}`).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };

    // Node A: the send continues the client's span, with its guards, routing, the hop and the audit enqueue.
    const send = one1('agw.send');
    expect(send.parentSpanId).toBe(clientSpan);
    expect(send.kind).toBe(SERVER);
    expect(nodeOf(send)).toBe(one.nodeId);
    expect(send.resource['service.name']).toBe('agw-e2e');
    expect(send.attributes).toMatchObject({
      'messaging.system': 'agent_gateway',
      'messaging.operation.name': 'send',
      'messaging.destination.name': worker.session.agent.agent_id,
      'agw.transport': 'socket.io',
      'agw.auth.method': 'none',
    });
    one1('agw.authorize', send);
    one1('agw.rate_limit', send);
    const route = one1('agw.route', send);
    const hop = named('agw.cluster.hop').find((s) => s.parentSpanId === route.spanId) as ReceivedSpan;
    expect(hop.kind).toBe(CLIENT);
    expect(hop.attributes['agw.cluster.op']).toBe('deliver');
    const enqueue = one1('agw.audit.enqueue', route);
    expect(nodeOf(enqueue)).toBe(one.nodeId);

    // Node B: the hop served there, and the delivery whose context the recipient got.
    const serve = one1('agw.cluster.serve', hop);
    expect(nodeOf(serve)).toBe(two.nodeId);
    const deliver = one1('agw.deliver', serve);
    expect(deliver.spanId).toBe(deliverySpanId);

    // The result: on node B under the recipient's context, back to node A's delivery.
    const result = one1('agw.result');
    expect(result.parentSpanId).toBe(deliverySpanId);
    expect(nodeOf(result)).toBe(two.nodeId);
    const resultRoute = one1('agw.route', result);
    const resultHop = named('agw.cluster.hop').find((s) => s.parentSpanId === resultRoute.spanId) as ReceivedSpan;
    expect(resultHop.attributes['agw.cluster.op']).toBe('result');
    const resultServe = one1('agw.cluster.serve', resultHop);
    expect(nodeOf(resultServe)).toBe(one.nodeId);
    one1('agw.deliver', resultServe);
    expect(resultTrace?.traceparent.split('-')[2]).toBe(named('agw.deliver').find((s) => s.parentSpanId === resultServe.spanId)?.spanId);

    // The audit record of the send has the trace id (and the enqueue span), and a writer's span links to it.
    await waitFor(
      async () => (await auditDetails(db, 'message.routed', boss.session.agent.agent_id)).length === 1,
      5_000,
      'the audit record',
    );
    const [details] = await auditDetails(db, 'message.routed', boss.session.agent.agent_id);
    expect(details).toMatchObject({ trace_id: traceId, span_id: enqueue.spanId });
    await waitFor(
      () =>
        receiver.spans.some(
          (s) => s.name === 'agw.audit.write' && s.links.some((l) => l.traceId === traceId && l.spanId === enqueue.spanId),
        ),
      10_000,
      'the audit write span linked to the trace',
    );
    const connect = receiver.spans.find((s) => s.name === 'agw.connect' && s.attributes['agw.agent_id'] === boss.session.agent.agent_id);
    expect(connect?.attributes).toMatchObject({ 'agw.auth.method': 'none', 'agw.transport': 'socket.io' });
    expect(receiver.requests.every((r) => r.contentType.startsWith('application/json') && r.path === '/v1/traces')).toBe(true);
    expect(await scrape(one)).toMatch(/^agw_trace_spans_total\{outcome="exported"\} [1-9]/m);
  });

  it('the TypeScript SDK sends the active OpenTelemetry context, runs the handler in the delivered one, and answers in it', async () => {
    // The test process is an application using OpenTelemetry: a provider, W3C propagation, async context.
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const handlerTrace: (string | undefined)[] = [];
    const responder = new GatewayClient({ url: two.url, agentId: uniqueId('sdk-responder') }).onMessage(() => {
      handlerTrace.push(trace.getActiveSpan()?.spanContext().traceId);
      return 'done';
    });
    const requester = new GatewayClient({ url: one.url, agentId: uniqueId('sdk-requester') });
    try {
      await Promise.all([responder.connect(), requester.connect()]);
      const span = trace.getTracer('app').startSpan('app.ask');
      const result = await context.with(trace.setSpan(context.active(), span), () =>
        requester.request(responder.session!.agent.agent_id, 'hi', { timeoutMs: 5_000 }),
      );
      span.end();
      const { traceId, spanId } = span.spanContext();
      expect(result).toMatchObject({ success: true, result: 'done' });
      expect((result.metadata.trace as { traceparent: string }).traceparent.split('-')[1]).toBe(traceId);
      expect(handlerTrace).toEqual([traceId]);
      await waitFor(
        () => receiver.spans.some((s) => s.name === 'agw.send' && s.traceId === traceId && s.parentSpanId === spanId),
        10_000,
        'agw.send under the app span',
      );
      await waitFor(
        () => receiver.spans.some((s) => s.name === 'agw.result' && s.traceId === traceId),
        10_000,
        'agw.result in the same trace',
      );

      // Without an active span, an explicit trace option is sent as is.
      const explicit = `00-${hex(16)}-${hex(8)}-01`;
      await requester.request(responder.session!.agent.agent_id, 'again', { timeoutMs: 5_000, trace: { traceparent: explicit } });
      await waitFor(
        () =>
          receiver.spans.some(
            (s) => s.name === 'agw.send' && s.traceId === explicit.split('-')[1] && s.parentSpanId === explicit.split('-')[2],
          ),
        10_000,
        'agw.send under the explicit traceparent',
      );
    } finally {
      await Promise.all([responder.close(), requester.close()]);
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('refuses a malformed metadata.trace with INVALID_MESSAGE', async () => {
    const sender = await connectAgent(one.url, { agentId: uniqueId('otel-bad') });
    agents.push(sender);
    for (const trace of [
      { traceparent: 'not-a-traceparent' },
      { traceparent: `00-${'0'.repeat(32)}-${hex(8)}-01` },
      { traceparent: `00-${hex(16)}-${hex(8)}-01`, tracestate: `k=${'v'.repeat(600)}` },
      { traceparent: `00-${hex(16)}-${hex(8)}-01`, extra: true },
    ]) {
      const ack = await sender.call('send', { to_agent_id: 'anyone', content: [{ type: 'text', text: 'x' }], metadata: { trace } });
      expect(ack).toMatchObject({ error: { code: 'INVALID_MESSAGE' } });
      expect(JSON.stringify(ack)).toContain('trace');
    }
  });

  it('serves every metric the Grafana dashboard and the alert rules use', async () => {
    const exposition = await scrape(one);
    const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/agent-gateway.json', import.meta.url), 'utf8')) as {
      title: string;
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    expect(dashboard.title).toBeTruthy();
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(10);
    for (const panel of graphs) {
      expect(panel.targets?.length, `targets of "${panel.title}"`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr);
        expect(names.length, `a metric in "${panel.title}": ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(declared(exposition, name), `${name} (panel "${panel.title}") in /metrics`).toBe(true);
      }
    }
    const rules = parseYaml(readFileSync(new URL('../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')) as {
      groups: {
        name: string;
        rules: { alert: string; expr: string; for?: string; labels: { severity: string }; annotations: { summary: string } }[];
      }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'AgentGatewayAuditLagHigh',
        'AgentGatewayAuditQueueBacklog',
        'AgentGatewayRedisDown',
        'AgentGatewayRefusalSpike',
      ]),
    );
    for (const alert of alerts) {
      expect(alert.labels.severity, alert.alert).toMatch(/^(critical|warning|info)$/);
      expect(alert.annotations.summary, alert.alert).toBeTruthy();
      const names = metricNames(alert.expr);
      expect(names.length, alert.alert).toBeGreaterThan(0);
      for (const name of names) expect(declared(exposition, name), `${name} (alert ${alert.alert}) in /metrics`).toBe(true);
    }
  });
});

// Real: one gateway without any OTEL endpoint, and a receiver that would notice any export.
describe('OpenTelemetry off (no endpoint)', () => {
  let receiver: OtlpReceiver;
  let gateway: GatewayProcess;
  let db: pg.Pool;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    // Everything but the endpoint: the receiver's address is nowhere in the gateway's environment.
    gateway = await startGateway({ AUTH_METHODS: 'none', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' });
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await gateway?.stop();
    await receiver?.close();
    await db?.end();
  });

  it('exports nothing, starts no tracer, and passes the client trace context through untouched', async () => {
    const worker = await connectAgent(gateway.url, { agentId: uniqueId('plain-worker') });
    const boss = await connectAgent(gateway.url, { agentId: uniqueId('plain-boss') });
    agents.push(worker, boss);
    const traceId = hex(16);
    const trace = { traceparent: `00-${traceId}-${hex(8)}-01` };
    const sent = await boss.call('send', {
      to_agent_id: worker.session.agent.agent_id,
      content: [{ type: 'text', text: 'x' }],
      metadata: { trace },
    });
    expect(sent).toMatchObject({ status: 'delivered' });
    // No delivery span: the recipient gets exactly what the client sent.
    expect(worker.messages[0]?.metadata).toEqual({ trace });
    await waitFor(
      async () => (await auditDetails(db, 'message.routed', boss.session.agent.agent_id)).length === 1,
      5_000,
      'the audit record',
    );
    const [details] = await auditDetails(db, 'message.routed', boss.session.agent.agent_id);
    expect(details?.trace_id).toBe(traceId);
    expect(details).not.toHaveProperty('span_id');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(0);
    expect(gateway.output.some((line) => line.includes('"event":"tracing"'))).toBe(false);
    const exposition = await scrape(gateway);
    expect(exposition).toMatch(/^agw_trace_spans_total\{outcome="exported"\} 0$/m);
  });
});
