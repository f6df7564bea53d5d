import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Task } from '@a2a-js/sdk';
import { RedisBus } from '#libs/redis';

type Listener = (task: Task) => void;

const CHANNEL = 'a2a-tasks';

/**
 * Changes of A2A tasks, to every node: the node that ends a task (its result, its time-out, a
 * cancel) publishes it once, and a node streaming that task to a client (`SendStreamingMessage`,
 * `SubscribeToTask`) hears it wherever it was ended. At most once, like all pub/sub: a stream that
 * misses the end still finds it with `GetTask`.
 */
@Injectable()
export class A2ATaskEvents implements OnModuleInit {
  private readonly logger = new Logger('A2ATasks');
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly bus: RedisBus) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (raw) => {
      const { task_id: taskId, task } = raw as { task_id?: unknown; task?: unknown };
      if (typeof taskId !== 'string') return;
      const listeners = this.listeners.get(taskId);
      if (!listeners) return;
      let parsed: Task;
      try {
        parsed = Task.fromJSON(task);
      } catch (error) {
        this.logger.warn(`dropped an unreadable change of task ${taskId}: ${(error as Error).message}`);
        return;
      }
      for (const listener of listeners) listener(parsed);
    });
  }

  async publish(task: Task): Promise<void> {
    await this.bus.publish(CHANNEL, { task_id: task.id, task: Task.toJSON(task) });
  }

  /** Calls `listener` with every change of the task until the returned function is called. */
  listen(taskId: string, listener: Listener): () => void {
    let listeners = this.listeners.get(taskId);
    if (!listeners) this.listeners.set(taskId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.listeners.delete(taskId);
    };
  }
}
