import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApiTokenRepository, ApiTokenWithAgent, IdentityEvent, IdentityEventsBus } from '#libs/identity';
import { TOKEN_CACHE_TTL_MS, TokenVerifier } from './token.verifier.js';

const TOKEN = `agt_${'a'.repeat(43)}`;

function setup(record: Partial<ApiTokenWithAgent> | null) {
  let current = record;
  const findByHash = vi.fn(() => Promise.resolve(current as ApiTokenWithAgent | null));
  const tokens = { findByHash, touch: vi.fn(() => Promise.resolve()) } as unknown as ApiTokenRepository;
  const handlers: ((event: IdentityEvent) => void)[] = [];
  const events = {
    subscribe: (handler: (event: IdentityEvent) => void) => {
      handlers.push(handler);
      return Promise.resolve();
    },
  } as unknown as IdentityEventsBus;
  const verifier = new TokenVerifier(tokens, events);
  return {
    verifier,
    findByHash,
    set: (next: Partial<ApiTokenWithAgent> | null) => (current = next),
    emit: (event: IdentityEvent) => handlers.forEach((h) => h(event)),
  };
}

const valid = (overrides: Partial<ApiTokenWithAgent> = {}): Partial<ApiTokenWithAgent> =>
  ({
    id: 'tok-1',
    revokedAt: null,
    expiresAt: null,
    agent: { id: 'a1', tenantId: 't1', status: 'enabled', name: 'A', capabilities: [], description: null, metadata: {} },
    ...overrides,
  }) as Partial<ApiTokenWithAgent>;

const verify = (verifier: TokenVerifier) => verifier.verify({ token: TOKEN, remoteAddress: '127.0.0.1', transport: 'http' });

describe('TokenVerifier cache', () => {
  afterEach(() => vi.useRealTimers());

  it('answers repeated verifications of a token from one read for TOKEN_CACHE_TTL_MS, then reads again', async () => {
    vi.useFakeTimers();
    const { verifier, findByHash } = setup(valid());
    await verifier.onModuleInit();
    await expect(verify(verifier)).resolves.toMatchObject({ agentId: 'a1', tenantId: 't1' });
    await verify(verifier);
    expect(findByHash).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(TOKEN_CACHE_TTL_MS);
    await verify(verifier);
    expect(findByHash).toHaveBeenCalledTimes(2);
  });

  it('an identity event (a revocation on any node) empties it at once', async () => {
    const { verifier, set, emit } = setup(valid());
    await verifier.onModuleInit();
    await verify(verifier);
    set(valid({ revokedAt: new Date() }));
    emit({ type: 'credential_revoked', credential_id: 'tok-1', agent_id: 'a1' });
    await expect(verify(verifier)).rejects.toMatchObject({ code: 'UNAUTHORIZED', reason: 'revoked' });
  });

  it('checks expiry on every use of a cached record, and caches no unknown token', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-02T00:00:00.000Z') });
    const { verifier, findByHash } = setup(valid({ expiresAt: new Date('2026-12-02T00:00:00.500Z') }));
    await verifier.onModuleInit();
    await verify(verifier);
    vi.advanceTimersByTime(600);
    await expect(verify(verifier)).rejects.toMatchObject({ reason: 'expired' });
    expect(findByHash).toHaveBeenCalledTimes(1);

    const unknown = setup(null);
    await unknown.verifier.onModuleInit();
    await expect(verify(unknown.verifier)).rejects.toMatchObject({ reason: 'unknown_token' });
    await expect(verify(unknown.verifier)).rejects.toMatchObject({ reason: 'unknown_token' });
    expect(unknown.findByHash).toHaveBeenCalledTimes(2);
  });

  it('does not cache a read that an identity event overtook', async () => {
    const { verifier, findByHash, emit } = setup(valid());
    await verifier.onModuleInit();
    findByHash.mockImplementationOnce(() => {
      emit({ type: 'agent_revoked', agent_id: 'a1' });
      return Promise.resolve(valid() as ApiTokenWithAgent);
    });
    await verify(verifier);
    await verify(verifier);
    expect(findByHash).toHaveBeenCalledTimes(2);
  });
});
