import { Inject, Injectable } from '@nestjs/common';
import { Task } from '@a2a-js/sdk';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { RedisService } from '#libs/redis';

/** An A2A task as the gateway keeps it: the task and who may see it. */
export interface StoredTask {
  task: Task;
  /** The agent that created it (the only one that may read or cancel it) and its tenant. */
  owner: string;
  tenantId: string;
  /** The agent the task was sent to. */
  agentId: string;
  /** The node awaiting the agent's result for it. */
  node: string;
}

// Sets the task to its final state unless it is final already: one writer wins (the result, the
// time-out or a cancel). KEYS[1] the task; ARGV task JSON, TTL in ms.
const FINISH = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'final') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'task', ARGV[1], 'final', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * A2A tasks in Redis, so that every node answers for them: one hash per task
 * (`a2a:task:<id>`, fields `task`, `owner`, `tenant`, `agent`, `node`, and `final` once it ended)
 * that lives `A2A_TASK_TTL_S` from its last change.
 */
@Injectable()
export class A2ATaskRepository {
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.ttlMs = config.a2a.taskTtlS * 1000;
  }

  async create(stored: StoredTask): Promise<void> {
    const key = this.key(stored.task.id);
    const replies = await this.redis.command
      .multi()
      .hset(key, {
        task: JSON.stringify(Task.toJSON(stored.task)),
        owner: stored.owner,
        tenant: stored.tenantId,
        agent: stored.agentId,
        node: stored.node,
      })
      .pexpire(key, this.ttlMs)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0] as Error;
  }

  async load(taskId: string): Promise<StoredTask | null> {
    const fields = await this.redis.command.hgetall(this.key(taskId));
    if (!fields.task || !fields.owner || !fields.tenant || !fields.agent || !fields.node) return null;
    return {
      task: Task.fromJSON(JSON.parse(fields.task)),
      owner: fields.owner,
      tenantId: fields.tenant,
      agentId: fields.agent,
      node: fields.node,
    };
  }

  /** Stores the task's final state; false when it had ended already (or expired). */
  async finish(task: Task): Promise<boolean> {
    const done = await this.redis.command.eval(FINISH, 1, this.key(task.id), JSON.stringify(Task.toJSON(task)), this.ttlMs);
    return done === 1;
  }

  private key(taskId: string): string {
    return this.redis.key('a2a', 'task', taskId);
  }
}
