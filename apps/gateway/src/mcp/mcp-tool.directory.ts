import { Injectable, Logger } from '@nestjs/common';
import type { ListToolsResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { RefusalLog } from '#libs/observability';
import { PolicyService } from '#libs/policy';
import { isAgentId, type AgentCard } from '#libs/protocol';
import { DirectoryService, subjectOf, type Caller } from '#libs/routing';
import { mcpRefusal } from './mcp-refusal.js';
import { assignToolNames, pageOfTools, toolOf } from './mcp-tool.mapping.js';

/**
 * Which tools an MCP caller sees (contract §10): the agents connected in its own tenant, on any
 * node, that its tenant's policy lets it `send` to, itself excepted. Other tenants' agents are
 * never listed (a roster is never enumerated across tenants, as in the directory), even where a
 * cross-tenant policy would let the caller reach one by id.
 */
@Injectable()
export class McpToolDirectory {
  private readonly logger = new Logger('Mcp');

  constructor(
    private readonly directory: DirectoryService,
    private readonly policy: PolicyService,
    private readonly refusals: RefusalLog,
  ) {}

  /**
   * One page of the caller's tools (`tools/list`). Refused only with a `GatewayError` under a
   * request id (a cursor this list did not issue, the directory or a policy unavailable).
   */
  async page(caller: Caller, cursor: string | undefined): Promise<ListToolsResult> {
    try {
      return pageOfTools(
        (await this.tools(caller)).map((entry) => entry.tool),
        cursor,
      );
    } catch (error) {
      throw mcpRefusal(
        error,
        { where: 'mcp tools/list', agentId: caller.agentId, remoteAddr: caller.remoteAddress },
        this.refusals,
        this.logger,
      );
    }
  }

  /**
   * The agent behind a tool name, or null. A name that is the id of an agent connected in the
   * caller's tenant is that agent (such an id always owns its own name), found without listing the
   * tenant; any other name is looked up among the caller's tools. The policy is not consulted for
   * the first kind: the dispatcher decides the call, refuses it `FORBIDDEN` and audits that.
   */
  async find(caller: Caller, name: string): Promise<AgentCard | null> {
    if (isAgentId(name) && name !== caller.agentId) {
      const card = await this.directory.tenantCard(caller.tenantId, name);
      if (card) return card;
    }
    return (await this.tools(caller)).find((entry) => entry.tool.name === name)?.card ?? null;
  }

  /** Every tool of the caller with its agent's card, ordered by agent id. */
  private async tools(caller: Caller): Promise<{ tool: Tool; card: AgentCard }[]> {
    const from = subjectOf(caller);
    const cards = (await this.directory.tenantCards(caller.tenantId)).filter((card) => card.agent_id !== caller.agentId);
    const verdicts = await Promise.all(
      cards.map((card) =>
        this.policy.decideSend(from, { tenantId: caller.tenantId, agentId: card.agent_id, capabilities: card.capabilities }),
      ),
    );
    const allowed = cards.filter((_card, i) => verdicts[i]?.outcome === 'allowed');
    const names = assignToolNames(allowed.map((card) => card.agent_id));
    return allowed.map((card) => ({ tool: toolOf(card, names.get(card.agent_id) ?? card.agent_id), card }));
  }
}
