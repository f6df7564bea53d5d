import { AgentCard, type SecurityRequirement, type SecurityScheme } from '@a2a-js/sdk';
import type { AuthMethod } from '#libs/protocol';

/** What a card is made of: the agent as the directory knows it. */
export interface CardSource {
  agent_id: string;
  agent_name: string;
  description: string | null;
  capabilities: readonly string[];
}

const MODES = ['text/plain', 'application/json'];

/** The security schemes of the agent methods that are on (`none` needs none). */
function securityOf(methods: readonly AuthMethod[]): { schemes: Record<string, SecurityScheme>; requirements: SecurityRequirement[] } {
  const schemes: Record<string, SecurityScheme> = {};
  if (methods.includes('token')) {
    schemes.apiToken = {
      scheme: {
        $case: 'httpAuthSecurityScheme',
        value: { scheme: 'Bearer', bearerFormat: 'agt_ API token', description: 'An API token of the calling agent' },
      },
    };
  }
  if (methods.includes('oidc')) {
    schemes.oidc = {
      scheme: {
        $case: 'httpAuthSecurityScheme',
        value: {
          scheme: 'Bearer',
          bearerFormat: 'JWT',
          description: "An access token of the gateway's identity provider for the calling agent",
        },
      },
    };
  }
  if (methods.includes('mtls')) {
    schemes.mtls = { scheme: { $case: 'mtlsSecurityScheme', value: { description: 'A client certificate bound to the calling agent' } } };
  }
  // Any one of them will do.
  const requirements = Object.keys(schemes).map((name) => ({ schemes: { [name]: { list: [] } } }));
  return { schemes, requirements };
}

/**
 * The A2A agent card of one gateway agent (contract §9), as JSON: its name and description, one
 * skill per capability, streaming, the security schemes of `AUTH_METHODS`, and the JSON-RPC
 * interface at `<base>/a2a/<agent_id>` for protocol 1.0 and, at the same URL, 0.3.
 */
export function agentCardJson(agent: CardSource, baseUrl: string, methods: readonly AuthMethod[], version: string): unknown {
  return AgentCard.toJSON(agentCard(agent, baseUrl, methods, version));
}

export function agentCard(agent: CardSource, baseUrl: string, methods: readonly AuthMethod[], version: string): AgentCard {
  const url = `${baseUrl}/a2a/${encodeURIComponent(agent.agent_id)}`;
  const { schemes, requirements } = securityOf(methods);
  return {
    name: agent.agent_name,
    description: agent.description ?? `${agent.agent_name}, an agent reached through agent-gateway`,
    supportedInterfaces: [
      { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' },
    ],
    provider: undefined,
    version,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: schemes,
    securityRequirements: requirements,
    defaultInputModes: MODES,
    defaultOutputModes: MODES,
    skills: agent.capabilities.map((capability) => ({
      id: capability,
      name: capability,
      description: `The capability "${capability}" of ${agent.agent_name}`,
      tags: [capability],
      examples: [],
      inputModes: MODES,
      outputModes: MODES,
      securityRequirements: [],
    })),
    signatures: [],
  };
}
