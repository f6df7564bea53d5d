import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { GatewayConfig } from '#libs/config';
import type { ErrorBody } from '#libs/protocol';
import { isUsableHost } from './dns-rebinding.js';

/** The path of the MCP endpoint on the agent plane. */
export const MCP_PATH = '/mcp';

/**
 * The URL MCP clients know the endpoint by: `<MCP_PUBLIC_URL>/mcp`, or the request's own origin
 * (`https` on the TLS listener) when it is unset; null when the request's `Host` is unusable.
 */
export function mcpResourceUrl(config: GatewayConfig, request: IncomingMessage): URL | null {
  if (config.mcp.publicUrl) return new URL(`${config.mcp.publicUrl}${MCP_PATH}`);
  const host = request.headers.host;
  if (!isUsableHost(host)) return null;
  return new URL(`${request.socket instanceof TLSSocket ? 'https' : 'http'}://${host}${MCP_PATH}`);
}

/** The path of its RFC 9728 metadata on this listener: the well-known prefix, then the resource's path (§3.1). */
export const PROTECTED_RESOURCE_METADATA_PATH = `/.well-known/oauth-protected-resource${MCP_PATH}`;

/**
 * Where the RFC 9728 metadata of the resource is: its origin, the well-known prefix, its path (a
 * proxy publishing the gateway under a path prefix maps that to {@link PROTECTED_RESOURCE_METADATA_PATH}). (The SDK's
 * `getOAuthProtectedResourceMetadataUrl` computes the same; it lives in its authorization-server
 * router module, which reads the environment and pulls in express handlers when imported.)
 */
export function metadataUrlOf(resource: URL): string {
  return new URL(`/.well-known/oauth-protected-resource${resource.pathname}`, resource.origin).href;
}

/**
 * The RFC 9728 protected resource metadata of `/mcp`: the IdP of agent tokens (`OIDC_ISSUER`) is
 * its authorization server, and tokens go in the `Authorization` header only.
 */
export function protectedResourceMetadata(config: GatewayConfig, resource: URL, issuer: string): OAuthProtectedResourceMetadata {
  return {
    resource: resource.href,
    authorization_servers: [issuer],
    bearer_methods_supported: ['header'],
    resource_name: config.manifest.name,
  };
}

/**
 * The `WWW-Authenticate` challenge of a 401 on `/mcp` (RFC 6750 §3, RFC 9728 §5.1), or null when
 * no bearer method is on (`mtls` or `none` only). With `oidc` on it names the metadata, so an MCP
 * client that does OAuth discovers the IdP; `error="invalid_token"` when a credential was
 * presented and refused.
 */
export function bearerChallenge(config: GatewayConfig, request: IncomingMessage, refusal: ErrorBody): string | null {
  const methods = config.auth.methods;
  if (!methods.includes('token') && !methods.includes('oidc')) return null;
  const params = [`realm="${config.manifest.name.replace(/["\\]/g, '')}"`];
  const resource = config.oidc ? mcpResourceUrl(config, request) : null;
  if (resource) params.push(`resource_metadata="${metadataUrlOf(resource)}"`);
  if (refusal.reason !== 'no_credential') params.push('error="invalid_token"');
  return `Bearer ${params.join(', ')}`;
}
