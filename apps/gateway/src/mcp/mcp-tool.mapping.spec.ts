import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError, type AgentCard, type ResultEvent } from '#libs/protocol';
import {
  AGENT_ID_META,
  TOOLS_PAGE_SIZE,
  assignToolNames,
  contentOfArguments,
  pageOfTools,
  toolNameOf,
  toolOf,
  toolRefusalOf,
  toolResultOf,
} from './mcp-tool.mapping.js';
import { mcpErrorOf } from './mcp.server.js';

const card = (agentId: string, extra: Partial<AgentCard> = {}): AgentCard => ({
  agent_id: agentId,
  agent_name: `Agent ${agentId}`,
  capabilities: [],
  description: null,
  metadata: {},
  ...extra,
});

/** The contract code a call is refused with (a refusal is a GatewayError, nothing else). */
function refusalCode(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (error instanceof GatewayError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

const result = (extra: Partial<ResultEvent>): ResultEvent => ({
  conversation_id: 'c-1',
  from_agent_id: 'worker',
  success: true,
  metadata: {},
  ...extra,
});

describe('tool names', () => {
  it('keep an agent id of tool-name characters, and replace every other character by _', () => {
    expect(toolNameOf('planner-1.eu_west')).toBe('planner-1.eu_west');
    expect(toolNameOf('acme:billing:v2')).toBe('acme_billing_v2');
  });

  it('are unique in a set: an id that is its own spelling keeps it, colliding sanitised ones get a hash suffix', () => {
    const names = assignToolNames(['a:b', 'a_b', 'x:y', 'p:q_r', 'p_q:r']);
    expect(names.get('a_b')).toBe('a_b');
    expect(names.get('a:b')).toMatch(/^a_b-[0-9a-f]{8}$/);
    expect(names.get('x:y')).toBe('x_y');
    expect(names.get('p:q_r')).toMatch(/^p_q_r-[0-9a-f]{8}$/);
    expect(names.get('p_q:r')).toMatch(/^p_q_r-[0-9a-f]{8}$/);
    expect(new Set(names.values()).size).toBe(5);
    // The suffix depends on the id alone: the same agent keeps its name from one listing to the next.
    expect(assignToolNames(['a_b', 'a:b']).get('a:b')).toBe(names.get('a:b'));
  });

  it('stay within 128 characters with a suffix', () => {
    const long = `${'x'.repeat(126)}:y`;
    const name = assignToolNames([long, toolNameOf(long)]).get(long) ?? '';
    expect(name).toHaveLength(128);
    expect(name).toMatch(/^x+-[0-9a-f]{8}$/);
  });
});

describe('toolOf', () => {
  it('maps a card: title the agent name, description and capabilities, the fixed input schema, the real id in _meta', () => {
    expect(
      toolOf(card('acme:search', { agent_name: 'Search', description: 'Finds things.', capabilities: ['search', 'web'] }), 'acme_search'),
    ).toEqual({
      name: 'acme_search',
      title: 'Search',
      description: 'Finds things.\n\nCapabilities: search, web.',
      inputSchema: { type: 'object', properties: { text: { type: 'string' }, data: {} } },
      _meta: { [AGENT_ID_META]: 'acme:search' },
    });
  });

  it('leaves the description out when the agent has neither description nor capabilities', () => {
    expect(toolOf(card('bare', { description: '  ' }), 'bare')).not.toHaveProperty('description');
  });
});

describe('pageOfTools', () => {
  const tools = Array.from({ length: 250 }, (_, i) => toolOf(card(`agent-${String(i).padStart(3, '0')}`), `agent-${i}`));

  it('pages by agent id with an opaque cursor, no tool twice and none missed', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = pageOfTools(tools, cursor);
      expect(page.tools.length).toBeLessThanOrEqual(TOOLS_PAGE_SIZE);
      seen.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(tools.map((tool) => tool.name));
  });

  it('gives no cursor when everything fits, and refuses one it did not issue', () => {
    expect(pageOfTools(tools.slice(0, 100), undefined)).toEqual({ tools: tools.slice(0, 100) });
    expect(refusalCode(() => pageOfTools(tools, 'bm90LWEtY3Vyc29y'))).toBe('INVALID_MESSAGE');
  });
});

describe('contentOfArguments', () => {
  it('makes a text part and a data part, in that order', () => {
    expect(contentOfArguments({ data: [1], text: 'hi' })).toEqual([
      { type: 'text', text: 'hi' },
      { type: 'data', data: [1] },
    ]);
    expect(contentOfArguments({ data: null })).toEqual([{ type: 'data', data: null }]);
  });

  it('refuses no arguments, wrong types and unknown fields with INVALID_MESSAGE', () => {
    for (const args of [undefined, {}, { text: 1 }, { text: 'x', to_agent_id: 'other' }]) {
      expect(refusalCode(() => contentOfArguments(args))).toBe('INVALID_MESSAGE');
    }
  });
});

describe('toolResultOf', () => {
  it('turns a string into one text item, and no result into no content', () => {
    expect(toolResultOf(result({ result: 'done' }))).toEqual({ content: [{ type: 'text', text: 'done' }] });
    expect(toolResultOf(result({}))).toEqual({ content: [] });
  });

  it('turns an object into structuredContent plus its JSON, and wraps what is not an object as { result }', () => {
    expect(toolResultOf(result({ result: { a: 1 } }))).toEqual({
      content: [{ type: 'text', text: '{"a":1}' }],
      structuredContent: { a: 1 },
    });
    expect(toolResultOf(result({ result: [1, 2] }))).toEqual({
      content: [{ type: 'text', text: '[1,2]' }],
      structuredContent: { result: [1, 2] },
    });
    expect(toolResultOf(result({ result: 0 }))).toEqual({ content: [{ type: 'text', text: '0' }], structuredContent: { result: 0 } });
  });

  it('turns a failure into isError with the code and message, the error as structuredContent', () => {
    const timeout = { code: 'TIMEOUT', message: 'no result from "worker" within 100 ms' };
    expect(toolResultOf(result({ success: false, error: timeout }))).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'TIMEOUT: no result from "worker" within 100 ms' }],
      structuredContent: { error: timeout },
    });
    expect(toolResultOf(result({ success: false, error: 'out of paper' }))).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'out of paper' }],
    });
    expect(toolResultOf(result({ success: false, error: { detail: 1 } })).content).toEqual([{ type: 'text', text: '{"detail":1}' }]);
    expect(toolResultOf(result({ success: false })).content).toEqual([{ type: 'text', text: 'the agent reported a failure' }]);
  });
});

describe('refusals', () => {
  const refusal = (): GatewayError => {
    const error = new GatewayError('RATE_LIMIT', 'over the limit', { retryAfterMs: 250 });
    error.requestId = 'req-1';
    return error;
  };

  it('are tool results with isError and the gateway’s error body', () => {
    expect(toolRefusalOf(refusal())).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'RATE_LIMIT: over the limit' }],
      structuredContent: { error: { code: 'RATE_LIMIT', message: 'over the limit', retry_after_ms: 250, request_id: 'req-1' } },
    });
  });

  it('of tools/list are JSON-RPC errors: invalid params for INVALID_MESSAGE, internal otherwise, the body as data', () => {
    expect(mcpErrorOf(new GatewayError('INVALID_MESSAGE', 'cursor: bad'))).toMatchObject({
      code: ErrorCode.InvalidParams,
      data: { code: 'INVALID_MESSAGE', message: 'cursor: bad' },
    });
    expect(mcpErrorOf(refusal()).code).toBe(ErrorCode.InternalError);
  });
});
