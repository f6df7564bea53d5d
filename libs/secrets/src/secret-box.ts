import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { GatewayError } from '#libs/protocol';

/** A secret sealed by {@link SecretBox.seal}: store both fields; neither reveals the secret or the key. */
export interface SealedSecret {
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts (AES-256-GCM, 96-bit IV, 128-bit tag). */
  ciphertext: string;
  /** The id of the key that sealed it: a one-way fingerprint of the derived key, not the key. */
  keyId: string;
}

const FORMAT = 'v1';
// Fixed, public HKDF salt and infos: they separate this use of SECRETS_KEY from any other.
const SALT = Buffer.from('agent-gateway/secrets/v1');
const ENCRYPTION_INFO = Buffer.from('agent-gateway stored credentials: AES-256-GCM key');
const KEY_ID_INFO = Buffer.from('agent-gateway stored credentials: key id');
/** The shortest `SECRETS_KEY` accepted (contract §1). */
export const MIN_SECRETS_KEY_LENGTH = 32;

interface DerivedKey {
  id: string;
  key: Buffer;
}

/** Derives the AES-256 key and its id from a `SECRETS_KEY` (HKDF-SHA256). */
function derive(secretsKey: string): DerivedKey {
  if (secretsKey.length < MIN_SECRETS_KEY_LENGTH) throw new Error(`a secrets key needs at least ${MIN_SECRETS_KEY_LENGTH} characters`);
  const ikm = Buffer.from(secretsKey, 'utf8');
  return {
    key: Buffer.from(hkdfSync('sha256', ikm, SALT, ENCRYPTION_INFO, 32)),
    id: Buffer.from(hkdfSync('sha256', ikm, SALT, KEY_ID_INFO, 8)).toString('hex'),
  };
}

/**
 * Seals and opens the secrets the gateway must store to use them later (an A2A remote's
 * credential): AES-256-GCM under a key derived from `SECRETS_KEY` by HKDF-SHA256, a fresh random IV
 * per seal, and associated data binding each ciphertext to what it belongs to (an agent id), so a
 * ciphertext copied to another row does not open. The key id stored beside each ciphertext names
 * the key that sealed it: `SECRETS_KEY_PREVIOUS` keeps older ciphertexts readable during a rotation,
 * and a ciphertext of a key the gateway no longer has is a clear error, never a silent loss.
 *
 * @example
 * const box = new SecretBox(config.secrets.key, config.secrets.previousKeys);
 * const sealed = box.seal('token', 'agent-1');
 * box.open(sealed, 'agent-1'); // 'token'
 */
export class SecretBox {
  private readonly current: DerivedKey | null;
  private readonly byId = new Map<string, Buffer>();

  constructor(secretsKey: string | undefined, previousKeys: readonly string[] = []) {
    this.current = secretsKey === undefined ? null : derive(secretsKey);
    for (const previous of previousKeys) {
      const derived = derive(previous);
      this.byId.set(derived.id, derived.key);
    }
    if (this.current) this.byId.set(this.current.id, this.current.key);
  }

  /** Whether a secret can be sealed (SECRETS_KEY is set). */
  get configured(): boolean {
    return this.current !== null;
  }

  /** Seals `plaintext` for `context` (what it belongs to). Throws INVALID_MESSAGE without SECRETS_KEY. */
  seal(plaintext: string, context: string): SealedSecret {
    if (!this.current) {
      throw new GatewayError(
        'INVALID_MESSAGE',
        'storing a credential needs SECRETS_KEY (at least 32 characters) in the gateway configuration',
        {
          reason: 'secrets_key_missing',
        },
      );
    }
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return { ciphertext: `${FORMAT}.${parts.join('.')}`, keyId: this.current.id };
  }

  /**
   * Opens a sealed secret of `context`. Throws UNAVAILABLE (reason `secrets_key_missing`,
   * `secrets_key_mismatch` or `secret_unreadable`) when it cannot: the message says what to do
   * and never contains the secret.
   */
  open(sealed: SealedSecret, context: string): string {
    const key = this.byId.get(sealed.keyId);
    if (!key) {
      if (!this.current) {
        throw new GatewayError('UNAVAILABLE', 'a stored credential needs SECRETS_KEY, which is not set', { reason: 'secrets_key_missing' });
      }
      throw new GatewayError(
        'UNAVAILABLE',
        `a stored credential was sealed with key id ${sealed.keyId}, but SECRETS_KEY now has key id ${this.current.id}: restore the old key (or give it as SECRETS_KEY_PREVIOUS), or store the credential again`,
        { reason: 'secrets_key_mismatch' },
      );
    }
    const [format, iv, tag, body, extra] = sealed.ciphertext.split('.');
    if (format !== FORMAT || iv === undefined || tag === undefined || body === undefined || extra !== undefined) {
      throw unreadable(sealed.keyId);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw unreadable(sealed.keyId, error);
    }
  }

  /** Whether `sealed` was sealed with the current key (a rotation re-seals the others). */
  isCurrent(sealed: SealedSecret): boolean {
    return this.current?.id === sealed.keyId;
  }
}

function unreadable(keyId: string, cause?: unknown): GatewayError {
  return new GatewayError(
    'UNAVAILABLE',
    `a stored credential (key id ${keyId}) does not decrypt: it was altered or belongs to another record; store the credential again`,
    { reason: 'secret_unreadable', cause },
  );
}
