import { TaskState, type AgentCard, type Message, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  PushNotificationNotSupportedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { Logger } from '@nestjs/common';
import type { AuditTrail } from '#libs/audit';
import type { GatewayConfig } from '#libs/config';
import { GatewayError, type ResultEvent } from '#libs/protocol';
import type { AgentCommandDispatcher, Caller, RoutingService } from '#libs/routing';
import { agentMessage, completeTask, isFinal, partsToContent, textPart, withHistoryLength } from './a2a-mapping.js';
import type { A2ATaskEvents } from './a2a-task-events.js';
import type { A2ATaskRepository, StoredTask } from './a2a-task.repository.js';

/** What every per-request handler shares (the node's services). */
export interface A2AHandlerDeps {
  config: GatewayConfig;
  dispatcher: AgentCommandDispatcher;
  routing: RoutingService;
  tasks: A2ATaskRepository;
  events: A2ATaskEvents;
  audit: AuditTrail;
  nodeId: string;
}

type Params<M extends keyof A2ARequestHandler> = Parameters<A2ARequestHandler[M]>[0];

const logger = new Logger('A2A');
// A resubscribed stream re-reads its task this often, and ends this long after the task's time-out.
const RESUBSCRIBE_POLL_MS = 5_000;
const RESUBSCRIBE_GRACE_MS = 60_000;

/**
 * The A2A server of one agent for one authenticated caller (one JSON-RPC request): the SDK's
 * transport handlers parse the request and call these methods; they run the gateway's pipeline.
 * A message becomes a `send` with `expect_result` through the one dispatcher (authorization, rate
 * limit, audit), its task lives in Redis, and the agent's `result` ends it on whichever node.
 *
 * A task takes one message: the gateway's agents answer a conversation with one `result`, so
 * multi-turn tasks (INPUT_REQUIRED) and push notifications are not offered.
 */
export class A2AAgentHandler implements A2ARequestHandler {
  /** The gateway's refusal behind the last error thrown, for the JSON-RPC error's `data`. */
  refusal: GatewayError | null = null;

  constructor(
    private readonly deps: A2AHandlerDeps,
    private readonly caller: Caller,
    private readonly agentId: string,
    private readonly card: AgentCard,
    private readonly frameBytes: number,
  ) {}

  getAgentCard(): Promise<AgentCard> {
    return Promise.resolve(this.card);
  }

  getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    return Promise.reject(new UnsupportedOperationError('this agent has no extended card'));
  }

  async sendMessage(params: SendMessageRequest): Promise<Message | Task> {
    const { task, outcome } = await this.start(params);
    if (params.configuration?.returnImmediately === true) return withHistoryLength(task, params.configuration.historyLength);
    return withHistoryLength(await outcome, params.configuration?.historyLength);
  }

  async *sendMessageStream(params: SendMessageRequest): AsyncGenerator<StreamResponse, void, undefined> {
    const { task, outcome } = await this.start(params);
    yield { payload: { $case: 'task', value: task } };
    yield* this.finalEvents(await outcome);
  }

  async getTask(params: Params<'getTask'>): Promise<Task> {
    await this.charge('GetTask');
    const stored = await this.visibleTask(params.id);
    return withHistoryLength(stored.task, params.historyLength);
  }

  async cancelTask(params: Params<'cancelTask'>): Promise<Task> {
    await this.charge('CancelTask');
    const stored = await this.visibleTask(params.id);
    if (isFinal(stored.task)) return this.alreadyEnded(stored.task);
    const canceled: Task = {
      ...stored.task,
      status: {
        state: TaskState.TASK_STATE_CANCELED,
        message: agentMessage(stored.task, [textPart(`canceled by ${this.caller.agentId}`)]),
        timestamp: new Date().toISOString(),
      },
    };
    if (!(await this.deps.tasks.finish(canceled))) {
      const now = await this.visibleTask(params.id);
      return this.alreadyEnded(now.task);
    }
    await this.deps.events.publish(canceled);
    const result: ResultEvent = {
      conversation_id: stored.task.id,
      from_agent_id: this.agentId,
      success: false,
      error: { code: 'CANCELED', message: `task canceled by ${this.caller.agentId}` },
      metadata: {},
    };
    const recipient = await this.deps.routing.resolveAgent(this.agentId).catch(() => null);
    await this.deps.routing.giveUp(this.caller.agentId, stored.node, result, recipient, `A2A task canceled by ${this.caller.agentId}`);
    this.deps.audit.record({
      action: 'message.canceled',
      tenant_id: this.caller.tenantId,
      actor: { type: 'agent', id: this.caller.agentId },
      subject: this.agentId,
      outcome: 'allowed',
      reason: null,
      session_id: null,
      remote_addr: this.caller.remoteAddress,
      details: { protocol: 'a2a', 'a2a.method': 'CancelTask', 'a2a.task_id': stored.task.id, conversation_id: stored.task.id },
    });
    return canceled;
  }

  async *resubscribe(params: Params<'resubscribe'>): AsyncGenerator<StreamResponse, void, undefined> {
    await this.charge('SubscribeToTask');
    const changes = new ChangeQueue();
    // Listening before reading: a change between the two is not missed.
    const stop = this.deps.events.listen(params.id, (task) => changes.push(task));
    try {
      const stored = await this.visibleTask(params.id);
      if (isFinal(stored.task)) throw new UnsupportedOperationError(`task ${params.id} has ended; read it with GetTask`);
      yield { payload: { $case: 'task', value: stored.task } };
      // The change comes over pub/sub (at most once): re-read the task now and then in case it was
      // missed, and give up once its time is surely over (its node died before it ended).
      const giveUpAt = Date.now() + this.deps.config.a2a.timeoutMs + RESUBSCRIBE_GRACE_MS;
      for (;;) {
        const ended = await changes.final(RESUBSCRIBE_POLL_MS);
        if (ended) return yield* this.finalEvents(ended);
        const now = await this.deps.tasks.load(params.id).catch(() => null);
        if (now && isFinal(now.task)) return yield* this.finalEvents(now.task);
        if (Date.now() > giveUpAt) return;
      }
    } finally {
      stop();
    }
  }

  listTasks(): Promise<never> {
    return Promise.reject(new UnsupportedOperationError('ListTasks is not offered; read a task by its id with GetTask'));
  }

  createTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  getTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  listTaskPushNotificationConfigs(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  deleteTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  /**
   * Sends the message to the agent (the pipeline's refusals become JSON-RPC errors) and stores its
   * WORKING task; `outcome` is the task as the agent's result (or the time-out, or a cancel) ends it.
   */
  private async start(params: SendMessageRequest): Promise<{ task: Task; outcome: Promise<Task> }> {
    const message = params.message;
    if (!message) throw this.refuse(new GatewayError('INVALID_MESSAGE', 'message: required'));
    if (message.taskId) {
      await this.visibleTask(message.taskId);
      throw new UnsupportedOperationError(`task ${message.taskId} takes no further message: a gateway agent answers a task once`);
    }
    const taskId = crypto.randomUUID();
    const contextId = message.contextId || crypto.randomUUID();
    const userMessage: Message = { ...message, taskId, contextId };
    this.caller.protocol = { name: 'a2a', details: { ...this.caller.protocol?.details, 'a2a.task_id': taskId } };
    let dispatched;
    try {
      dispatched = await this.deps.dispatcher.request(
        this.caller,
        {
          to_agent_id: this.agentId,
          content: partsToContent(message.parts),
          conversation_id: taskId,
          metadata: { a2a: { task_id: taskId, context_id: contextId, message_id: message.messageId } },
          timeout_ms: this.deps.config.a2a.timeoutMs,
        },
        this.frameBytes,
      );
    } catch (error) {
      throw error instanceof GatewayError ? this.refuse(error) : error;
    }
    const task: Task = {
      id: taskId,
      contextId,
      status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
      artifacts: [],
      history: [userMessage],
      metadata: {},
    };
    const stored: StoredTask = {
      task,
      owner: this.caller.agentId,
      tenantId: this.caller.tenantId,
      agentId: this.agentId,
      node: this.deps.nodeId,
    };
    const created = this.deps.tasks.create(stored);
    const outcome = dispatched.result.then((result) => this.end(stored, created, result));
    try {
      await created;
    } catch (error) {
      throw this.refuse(new GatewayError('UNAVAILABLE', 'the task could not be stored (Redis unavailable)', { cause: error }));
    }
    return { task, outcome };
  }

  /** Ends the task with the agent's result, unless a cancel ended it first (then that is the outcome). */
  private async end(stored: StoredTask, created: Promise<void>, result: ResultEvent): Promise<Task> {
    const ended = completeTask(stored.task, result, new Date());
    try {
      await created;
      if (await this.deps.tasks.finish(ended)) {
        await this.deps.events.publish(ended);
        return ended;
      }
      return (await this.deps.tasks.load(stored.task.id))?.task ?? ended;
    } catch (error) {
      logger.warn(`task ${stored.task.id} ended ${TaskState[ended.status!.state]} but could not be stored: ${(error as Error).message}`);
      return ended;
    }
  }

  /** The events that end a stream: the artifacts, then the final status. */
  private *finalEvents(task: Task): Generator<StreamResponse, void, undefined> {
    for (const artifact of task.artifacts) {
      yield {
        payload: {
          $case: 'artifactUpdate',
          value: { taskId: task.id, contextId: task.contextId, artifact, append: false, lastChunk: true, metadata: {} },
        },
      };
    }
    yield { payload: { $case: 'statusUpdate', value: { taskId: task.id, contextId: task.contextId, status: task.status, metadata: {} } } };
  }

  /** A task of this caller, sent to this agent; any other reads as not found. */
  private async visibleTask(taskId: string): Promise<StoredTask> {
    let stored: StoredTask | null;
    try {
      stored = await this.deps.tasks.load(taskId);
    } catch (error) {
      throw this.refuse(new GatewayError('UNAVAILABLE', 'tasks unavailable (Redis unavailable)', { cause: error }));
    }
    if (!stored || stored.owner !== this.caller.agentId || stored.tenantId !== this.caller.tenantId || stored.agentId !== this.agentId) {
      throw new TaskNotFoundError(`Task not found: ${taskId}`);
    }
    return stored;
  }

  private alreadyEnded(task: Task): Task {
    if (task.status?.state === TaskState.TASK_STATE_CANCELED) return task;
    throw new TaskNotCancelableError(`task ${task.id} has ended (${TaskState[task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED]})`);
  }

  /** A JSON-RPC call that routes nothing still counts against the caller's rate limit. */
  private async charge(method: string): Promise<void> {
    try {
      await this.deps.dispatcher.charge(this.caller, `a2a.${method}`);
    } catch (error) {
      throw error instanceof GatewayError ? this.refuse(error) : error;
    }
  }

  private refuse(error: GatewayError): GatewayError {
    this.refusal = error;
    return error;
  }
}

/** The changes of one task a stream waits on, until the final one. */
class ChangeQueue {
  private last: Task | null = null;
  private wake: ((task: Task) => void) | null = null;

  push(task: Task): void {
    if (!isFinal(task)) return;
    this.last = task;
    this.wake?.(task);
  }

  /** The final change, or null after `waitMs` without one. */
  final(waitMs: number): Promise<Task | null> {
    if (this.last) return Promise.resolve(this.last);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      this.wake = (task) => {
        clearTimeout(timer);
        resolve(task);
      };
    });
  }
}
