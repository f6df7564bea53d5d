import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@a2a-js/sdk/client';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import type { RemoteAgentRow } from '#libs/identity';
import { GatewayError } from '#libs/protocol';
import { TtlCache } from '#libs/routing';
import { SecretBox } from '#libs/secrets';
import { a2aCredentialSchema, credentialHeader, credentialSecret } from './a2a-credential.js';
import { egressFetch } from './egress.fetch.js';
import { EgressPolicy } from './egress.policy.js';

/** An SDK client for one remote agent, and the secret to keep out of anything it reports. */
export interface RemoteClient {
  client: Client;
  /** The credential's secret, to scrub from remote-supplied text; null without a credential. */
  secret: string | null;
}

// A client holds the remote's card: re-read it now and then, so a remote that moved its endpoint is followed.
const CLIENT_TTL_MS = 60_000;
const CLIENT_MAX = 1_000;

/**
 * SDK clients (`ClientFactory` with the JSON-RPC transport) for remote A2A agents, one per agent,
 * URL and credential: created from the agent card (`createFromUrl`), every request through
 * {@link egressFetch} with the agent's credential opened from its sealed form. `polling: true`
 * makes `SendMessage` ask the remote to return at once (`returnImmediately`), see docs/a2a.md.
 * The SDK's client side is loaded with the first remote agent's client: a node that never sends
 * to one does not hold it.
 */
@Injectable()
export class A2AClientPool {
  private readonly clients = new TtlCache<Promise<RemoteClient>>(CLIENT_TTL_MS, CLIENT_MAX);

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly egress: EgressPolicy,
    private readonly secrets: SecretBox,
  ) {}

  /** The client of `row` (reading the remote's card the first time). */
  get(row: RemoteAgentRow): Promise<RemoteClient> {
    const key = `${row.id}\n${row.a2aUrl}\n${row.a2aCredentialCiphertext ?? ''}`;
    const cached = this.clients.get(key);
    if (cached) return cached;
    const created = this.create(row);
    this.clients.set(key, created);
    // A failure is not kept: the next send tries again.
    created.catch(() => this.clients.delete(key));
    return created;
  }

  private async create(row: RemoteAgentRow): Promise<RemoteClient> {
    const credential = this.openCredential(row);
    const headers: [string, string][] = credential ? [credentialHeader(credential)] : [];
    const fetchImpl = egressFetch(this.egress, this.config.a2aOutbound, headers);
    const { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } = await import('@a2a-js/sdk/client');
    const factory = new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      clientConfig: { polling: true },
    });
    const client = await factory.createFromUrl(cardUrlOf(row.a2aUrl), '');
    return { client, secret: credential ? credentialSecret(credential) : null };
  }

  private openCredential(row: RemoteAgentRow) {
    if (row.a2aCredentialCiphertext === null || row.a2aCredentialKeyId === null) return null;
    const plain = this.secrets.open({ ciphertext: row.a2aCredentialCiphertext, keyId: row.a2aCredentialKeyId }, row.id);
    let json: unknown;
    try {
      json = JSON.parse(plain);
    } catch {
      json = null;
    }
    const parsed = a2aCredentialSchema.safeParse(json);
    if (!parsed.success) {
      throw new GatewayError('UNAVAILABLE', `the stored credential of "${row.id}" is not usable; store it again`, {
        reason: 'secret_unreadable',
      });
    }
    return parsed.data;
  }
}

/**
 * The card URL of an `a2a_url`: itself when its path ends in `.json`, else the
 * `.well-known/agent-card.json` under it (relative, so agents living under a path, such as a
 * gateway's `/a2a/{agent_id}`, are found).
 */
export function cardUrlOf(a2aUrl: string): string {
  const url = new URL(a2aUrl);
  if (url.pathname.endsWith('.json')) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/.well-known/agent-card.json`;
  return url.toString();
}
