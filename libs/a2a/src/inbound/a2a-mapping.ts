import { Role, TaskState, type Artifact, type Message, type Part, type Task } from '@a2a-js/sdk';
import { GatewayError, type ContentPart, type ResultEvent } from '#libs/protocol';

/** The states after which a task changes no more. */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

export function isFinal(task: Task): boolean {
  return task.status !== undefined && FINAL_STATES.has(task.status.state);
}

function part(content: NonNullable<Part['content']>): Part {
  return { content, metadata: {}, filename: '', mediaType: content.$case === 'text' ? 'text/plain' : 'application/json' };
}

export function textPart(text: string): Part {
  return part({ $case: 'text', value: text });
}

/**
 * An A2A message's parts as the content of a gateway message (contract §9): text parts as
 * `{ type: "text" }`, data parts as `{ type: "data" }`. Files (raw bytes or URLs) have no place in
 * the gateway's content and are refused, as is a message without parts.
 */
export function partsToContent(parts: readonly Part[]): ContentPart[] {
  if (parts.length === 0) throw new GatewayError('INVALID_MESSAGE', 'message.parts: at least one text or data part is needed');
  return parts.map((p, index): ContentPart => {
    switch (p.content?.$case) {
      case 'text':
        return { type: 'text', text: p.content.value };
      case 'data':
        return { type: 'data', data: p.content.value ?? null };
      default:
        throw new GatewayError(
          'INVALID_MESSAGE',
          `message.parts[${index}]: only text and data parts reach a gateway agent (not ${p.content?.$case ?? 'an empty part'})`,
        );
    }
  });
}

/** A message of the agent (the task's status message). */
export function agentMessage(task: Pick<Task, 'id' | 'contextId'>, parts: Part[]): Message {
  return {
    messageId: crypto.randomUUID(),
    contextId: task.contextId,
    taskId: task.id,
    role: Role.ROLE_AGENT,
    parts,
    metadata: {},
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The words of a failed result's error: `CODE: message` when it has both. */
export function describeError(error: ResultEvent['error']): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') return `${code}: ${message}`;
    if (typeof message === 'string') return message;
    if (typeof code === 'string') return code;
  }
  return 'the agent reported a failure';
}

/**
 * The task a gateway result ends (contract §9): `success: true` → COMPLETED with one artifact (a
 * text part for a string result, a data part otherwise); `success: false` → FAILED with the error's
 * words as its status message (a TIMEOUT names it).
 */
export function completeTask(task: Task, result: ResultEvent, at: Date): Task {
  if (result.success) {
    const value = result.result ?? null;
    const artifact: Artifact = {
      artifactId: crypto.randomUUID(),
      name: 'result',
      description: `the result of ${result.from_agent_id}`,
      parts: [typeof value === 'string' ? textPart(value) : part({ $case: 'data', value })],
      metadata: {},
      extensions: [],
    };
    return {
      ...task,
      status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: at.toISOString() },
      artifacts: [...task.artifacts, artifact],
    };
  }
  return {
    ...task,
    status: {
      state: TaskState.TASK_STATE_FAILED,
      message: agentMessage(task, [textPart(describeError(result.error))]),
      timestamp: at.toISOString(),
    },
  };
}

/** `historyLength` of GetTask and friends: undefined keeps all, 0 none, N the last N messages. */
export function withHistoryLength(task: Task, historyLength: number | undefined): Task {
  if (historyLength === undefined) return task;
  return { ...task, history: historyLength <= 0 ? [] : task.history.slice(-historyLength) };
}
