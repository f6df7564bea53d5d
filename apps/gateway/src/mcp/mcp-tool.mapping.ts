import { createHash } from 'node:crypto';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import {
  CURSOR_KEYS,
  GatewayError,
  cursorCodec,
  describeSchemaError,
  type AgentCard,
  type ContentPart,
  type ResultEvent,
} from '#libs/protocol';

/*
 * The pure half of contract §10: agents as MCP tools and results as tool results. No I/O here, so
 * every rule of the mapping has a unit test (mcp-tool.mapping.spec.ts). Types only from the SDK:
 * its runtime is loaded with the first MCP request (see mcp.controller.ts).
 */

/** The `_meta` key of a tool that names the real `agent_id` behind it. */
export const AGENT_ID_META = 'agent-gateway/agent_id';

/** Tools in one `tools/list` page; past it the answer carries a `nextCursor`. */
export const TOOLS_PAGE_SIZE = 100;

/** The input every agent tool takes (contract §10): a text part, a data part (any JSON), or both. */
export const TOOL_INPUT_SCHEMA: Tool['inputSchema'] = { type: 'object', properties: { text: { type: 'string' }, data: {} } };

/** The arguments of `tools/call`, checked as strictly as a `send` payload: unknown fields are refused. */
const toolArgumentsSchema = z
  .strictObject({ text: z.string().optional(), data: z.unknown().optional() })
  .refine((args) => args.text !== undefined || Object.hasOwn(args, 'data'), { error: 'give text, data or both' });

/** The cursor of `tools/list`: the agent id of the last tool of the page before. */
const TOOLS_CURSOR = cursorCodec('mcp_tools', CURSOR_KEYS.agentId);

/** The tool name of an agent, before collisions: every character outside `[A-Za-z0-9_.-]` becomes `_`. */
export function toolNameOf(agentId: string): string {
  return agentId.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * The tool names of a set of agents. An agent id made only of tool-name characters is its own
 * name, always. An id with other characters (`:`) gets its sanitised spelling unless another agent
 * of the set has the same one; then it gets that spelling, `-` and the first 8 hex digits of the
 * SHA-256 of its id (the spelling cut so the name stays within 128 characters). So a name never
 * changes meaning while its agent stays connected, and every name is unique in the set.
 */
export function assignToolNames(agentIds: readonly string[]): Map<string, string> {
  const spellings = new Map<string, number>();
  for (const id of agentIds) spellings.set(toolNameOf(id), (spellings.get(toolNameOf(id)) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const id of agentIds) {
    const spelling = toolNameOf(id);
    if (spelling === id || spellings.get(spelling) === 1) names.set(id, spelling);
    else names.set(id, `${spelling.slice(0, 119)}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`);
  }
  return names;
}

/** The MCP tool of a connected agent, under its assigned name. */
export function toolOf(card: AgentCard, name: string): Tool {
  const description = [
    card.description?.trim() || null,
    card.capabilities.length > 0 ? `Capabilities: ${card.capabilities.join(', ')}.` : null,
  ].filter((line): line is string => line !== null);
  return {
    name,
    title: card.agent_name,
    ...(description.length > 0 && { description: description.join('\n\n') }),
    inputSchema: TOOL_INPUT_SCHEMA,
    _meta: { [AGENT_ID_META]: card.agent_id },
  };
}

/**
 * One page of tools from the whole list, ordered by agent id: the tools after the cursor's agent,
 * and the cursor of the next page when there is one. A cursor this list did not issue is
 * `INVALID_MESSAGE`.
 */
export function pageOfTools(tools: readonly Tool[], cursor: string | undefined): { tools: Tool[]; nextCursor?: string } {
  const [after] = TOOLS_CURSOR.decode(cursor) ?? [];
  const rest = after === undefined ? tools : tools.filter((tool) => agentIdOf(tool) > after);
  const page = rest.slice(0, TOOLS_PAGE_SIZE);
  const last = page.at(-1);
  return rest.length > TOOLS_PAGE_SIZE && last ? { tools: page, nextCursor: TOOLS_CURSOR.encode(agentIdOf(last)) } : { tools: page };
}

function agentIdOf(tool: Tool): string {
  return tool._meta?.[AGENT_ID_META] as string;
}

/** The content of the `send` a tool call makes: `text` as a text part, then `data` as a data part. */
export function contentOfArguments(args: unknown): ContentPart[] {
  const parsed = toolArgumentsSchema.safeParse(args ?? {});
  if (!parsed.success) throw new GatewayError('INVALID_MESSAGE', `arguments: ${describeSchemaError(parsed.error)}`);
  const content: ContentPart[] = [];
  if (parsed.data.text !== undefined) content.push({ type: 'text', text: parsed.data.text });
  if (Object.hasOwn(parsed.data, 'data')) content.push({ type: 'data', data: parsed.data.data });
  return content;
}

/**
 * The tool result of an agent's `result`. Success: a string is one text item; no result is no
 * content; anything else is its JSON as text plus `structuredContent` (which MCP wants to be an
 * object: an array or a scalar is wrapped as `{ result }`). Failure (the agent's, or the gateway's
 * TIMEOUT) is `isError` with the code and message as text and the error as `structuredContent`.
 */
export function toolResultOf(result: ResultEvent): CallToolResult {
  if (!result.success) {
    const error = result.error ?? null;
    return { isError: true, content: [{ type: 'text', text: describeFailure(error) }], structuredContent: { error } };
  }
  const value = result.result;
  if (value === undefined) return { content: [] };
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] };
  return {
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: isPlainObject(value) ? value : { result: value },
  };
}

/** The tool result of a refusal before or during routing (not connected, policy, rate limit, bad input). */
export function toolRefusalOf(error: GatewayError): CallToolResult {
  const body = error.toBody();
  return { isError: true, content: [{ type: 'text', text: `${body.code}: ${body.message}` }], structuredContent: { error: body } };
}

function describeFailure(error: unknown): string {
  if (typeof error === 'string') return error;
  if (isPlainObject(error)) {
    const { code, message } = error;
    if (typeof code === 'string' && typeof message === 'string') return `${code}: ${message}`;
    if (typeof message === 'string') return message;
  }
  return error === null ? 'the agent reported a failure' : JSON.stringify(error);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
