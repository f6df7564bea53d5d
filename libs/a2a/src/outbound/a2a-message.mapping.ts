import { Role, TaskState, type Message, type Part, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import type { ContentPart, MessageEvent, ResultEvent } from '#libs/protocol';

/*
 * Gateway messages ↔ A2A (docs/a2a.md, "Outbound"): a `send` becomes a user-role A2A message whose
 * parts are its content's text and data parts and whose context id is the conversation id; the
 * remote's reply (a message, or a task's artifacts) becomes the conversation's `result`.
 */

/** The A2A `SendMessage` request for a gateway message. */
export function toSendMessageRequest(message: MessageEvent): SendMessageRequest {
  const a2aMessage: Message = {
    messageId: message.message_id,
    contextId: message.conversation_id,
    taskId: '',
    role: Role.ROLE_USER,
    parts: message.content.map(toPart),
    metadata: {
      ...message.metadata,
      agent_gateway: { from_agent_id: message.from_agent_id, conversation_id: message.conversation_id, message_id: message.message_id },
    },
    extensions: [],
    referenceTaskIds: [],
  };
  return { tenant: '', message: a2aMessage, configuration: undefined, metadata: undefined };
}

function toPart(part: ContentPart): Part {
  return part.type === 'text'
    ? { content: { $case: 'text', value: part.text }, metadata: undefined, filename: '', mediaType: 'text/plain' }
    : { content: { $case: 'data', value: part.data }, metadata: undefined, filename: '', mediaType: 'application/json' };
}

/** Task states after which nothing more comes. */
const TERMINAL = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);
/** States in which the task waits for the client: the gateway relays no second turn, so they end the conversation. */
const INTERRUPTED = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

/** Whether a task needs no more polling (terminal or interrupted). */
export function isSettled(task: Task): boolean {
  const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  return TERMINAL.has(state) || INTERRUPTED.has(state);
}

/** Whether a `SendMessage` answer is a task (otherwise it is a message). */
export function isTask(reply: Message | Task): reply is Task {
  return 'status' in reply && 'artifacts' in reply;
}

/**
 * The conversation's result for the remote's final answer: a message's parts, or a completed
 * task's artifacts (its status message when it has none), collapsed to one value: a single text →
 * the string, a single data part → its data, anything else → an array of content parts. A task
 * that FAILED, was REJECTED or CANCELED, or stopped for input or authentication, is `success: false`
 * with `error: { code: "A2A_<STATE>", message }`.
 */
export function toResult(reply: Message | Task, conversationId: string, fromAgentId: string): ResultEvent {
  const base = { conversation_id: conversationId, from_agent_id: fromAgentId };
  if (!isTask(reply)) {
    return {
      ...base,
      success: true,
      result: collapse(reply.parts),
      metadata: { a2a: { message_id: reply.messageId, context_id: reply.contextId } },
    };
  }
  const state = reply.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  const metadata = { a2a: { task_id: reply.id, context_id: reply.contextId, state: TaskState[state] ?? String(state) } };
  if (state === TaskState.TASK_STATE_COMPLETED) {
    const parts = reply.artifacts.flatMap((a) => a.parts);
    return { ...base, success: true, result: collapse(parts.length > 0 ? parts : (reply.status?.message?.parts ?? [])), metadata };
  }
  const said = textOf(reply.status?.message?.parts ?? []);
  const name = (TaskState[state] ?? 'TASK_STATE_UNKNOWN').replace(/^TASK_STATE_/, '');
  const explanation = INTERRUPTED.has(state)
    ? `the remote agent stopped in ${name} (the gateway relays no second turn)`
    : `the remote agent's task ended ${name}`;
  return { ...base, success: false, error: { code: `A2A_${name}`, message: said ? `${explanation}: ${said}` : explanation }, metadata };
}

/** The result of a remote that failed after accepting the message (a poll refused, or its answer unusable). */
export function failureResult(conversationId: string, fromAgentId: string, code: string, message: string): ResultEvent {
  return { conversation_id: conversationId, from_agent_id: fromAgentId, success: false, error: { code, message }, metadata: {} };
}

function collapse(parts: readonly Part[]): unknown {
  const values = parts.map(toContentPart);
  const only = values.length === 1 ? values[0] : undefined;
  if (only?.type === 'text') return only.text;
  if (only?.type === 'data') return only.data;
  return values.length === 0 ? null : values;
}

type ReplyPart = ContentPart | { type: 'file'; url?: string; bytes_base64?: string; media_type: string; filename: string };

function toContentPart(part: Part): ReplyPart {
  const file = { media_type: part.mediaType, filename: part.filename };
  switch (part.content?.$case) {
    case 'text':
      return { type: 'text', text: part.content.value };
    case 'data':
      return { type: 'data', data: part.content.value as unknown };
    case 'url':
      return { type: 'file', url: part.content.value, ...file };
    case 'raw':
      return { type: 'file', bytes_base64: Buffer.from(part.content.value).toString('base64'), ...file };
    default:
      return { type: 'data', data: null };
  }
}

function textOf(parts: readonly Part[]): string {
  return parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join(' ')
    .trim()
    .slice(0, 1000);
}
