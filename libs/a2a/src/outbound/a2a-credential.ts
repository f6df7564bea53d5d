import * as z from 'zod';

// Headers the gateway sets itself, or that would change how the request is framed or routed.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept',
  'a2a-version',
  'a2a-extensions',
]);

/**
 * `a2a_credential` (contract §9): what the gateway presents to a remote A2A agent on every request,
 * `{ type: "bearer", token }` (`Authorization: Bearer <token>`) or `{ type: "header", name, value }`.
 * Visible ASCII only, so it can neither split a header nor smuggle another one.
 */
export const a2aCredentialSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('bearer'),
    token: z.string().regex(/^[\x21-\x7e]{1,8192}$/, { error: 'must be 1-8192 visible ASCII characters' }),
  }),
  z.strictObject({
    type: z.literal('header'),
    name: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/, { error: 'must be an HTTP header name' })
      .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()) && !n.toLowerCase().startsWith('proxy-'), {
        error: 'is a header the gateway sets itself or one that changes how the request is sent',
      }),
    value: z.string().regex(/^[\x20-\x7e\t]{1,8192}$/, { error: 'must be 1-8192 printable ASCII characters' }),
  }),
]);

/** A remote A2A agent's credential, in clear: only between opening it and sending the request. */
export type A2ACredential = z.infer<typeof a2aCredentialSchema>;

/** The request header that carries a credential. */
export function credentialHeader(credential: A2ACredential): [string, string] {
  return credential.type === 'bearer' ? ['authorization', `Bearer ${credential.token}`] : [credential.name.toLowerCase(), credential.value];
}

/** The secret part of a credential (what must never appear in a log, an error or a record). */
export function credentialSecret(credential: A2ACredential): string {
  return credential.type === 'bearer' ? credential.token : credential.value;
}

/**
 * `a2a_url`: the remote's base URL (its card is at `/.well-known/agent-card.json`) or the URL of
 * its card (a path ending in `.json`). http or https, no user info, at most 2048 characters.
 */
export const a2aUrlSchema = z
  .string()
  .max(2048)
  .refine(
    (v) => {
      try {
        const url = new URL(v);
        return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.hash;
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) URL without user info or fragment' },
  );
