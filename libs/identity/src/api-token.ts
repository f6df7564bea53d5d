import { createHash, randomBytes } from 'node:crypto';

/** Prefix of every API token (contract §2). */
export const API_TOKEN_PREFIX = 'agt_';

// 32 random bytes = 256 bits, base64url without padding = 43 characters.
const API_TOKEN_PATTERN = /^agt_[A-Za-z0-9_-]{43}$/;

/** A fresh API token: `agt_` followed by 256 random bits in base64url. */
export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * The stored form of a token: SHA-256, hex. Tokens carry 256 bits of entropy, so a fast hash is
 * enough: there is nothing to brute-force, and lookups stay a single indexed equality.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when `value` has the shape of an API token (checked before any database lookup). */
export function looksLikeApiToken(value: string): boolean {
  return API_TOKEN_PATTERN.test(value);
}

/** A short, non-secret label for a token in lists: its prefix and first four characters. */
export function apiTokenHint(token: string): string {
  return `${token.slice(0, API_TOKEN_PREFIX.length + 4)}…`;
}

/**
 * A token's name: 1–128 printable characters (Unicode letters, marks, digits, punctuation, symbols
 * and the plain space), not starting or ending with a space. Control characters, line breaks and
 * invisible formatting characters (bidirectional overrides among them) are refused: a name is
 * shown in consoles, logs and CSV exports, where those would rewrite what an operator reads.
 */
export const API_TOKEN_NAME_PATTERN = /^(?! )[\p{L}\p{M}\p{N}\p{P}\p{S} ]{1,128}(?<! )$/u;

/** What is wrong with a token name, for an `INVALID_MESSAGE` naming the field. */
export const API_TOKEN_NAME_RULE =
  'must be 1–128 printable characters (letters, digits, punctuation, symbols, spaces), not starting or ending with a space';
