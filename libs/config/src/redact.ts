/**
 * A connection URL fit for a log line or an error: the password is replaced by `***`. A value that
 * does not parse as a URL keeps only what cannot be a credential: everything between `//` and the
 * last `@` of the authority becomes `***`.
 *
 * @example
 * redactUrl('postgresql://app:s3cret@db:5432/gw') // 'postgresql://app:***@db:5432/gw'
 * redactUrl('redis://:s3cret@db:99999')          // 'redis://***@db:99999'
 */
export function redactUrl(raw: string): string {
  // A Sentinel URL (redis+sentinel://) carries the sentinels' password as a query parameter.
  const text = raw.replace(/([?&]sentinelPassword=)[^&#]*/gi, '$1***');
  let password: string;
  try {
    password = new URL(text).password;
  } catch {
    return maskUserinfo(text, false);
  }
  return password ? maskUserinfo(text, true) : text;
}

/**
 * Masks the userinfo of `scheme://user:pass@host/…` without parsing: only the password when
 * `keepUser` (`scheme://user:***@host`), else all of it (`scheme://***@host`).
 */
function maskUserinfo(raw: string, keepUser: boolean): string {
  const start = raw.indexOf('//');
  if (start < 0) return raw.includes('@') ? '***' : raw;
  const from = start + 2;
  let end = raw.length;
  for (const stop of ['/', '?', '#']) {
    const at = raw.indexOf(stop, from);
    if (at >= 0 && at < end) end = at;
  }
  const userinfo = raw.lastIndexOf('@', end - 1);
  if (userinfo < from) return raw;
  const colon = raw.indexOf(':', from);
  const kept = keepUser && colon >= 0 && colon < userinfo ? raw.slice(from, colon + 1) : '';
  return `${raw.slice(0, from)}${kept}***${raw.slice(userinfo)}`;
}

/** `host:port` of a connection URL, for "cannot reach X at host:port" messages. */
export function hostPortOf(raw: string, defaultPort: number): string {
  try {
    const url = new URL(raw);
    return `${url.hostname || 'localhost'}:${url.port || defaultPort}`;
  } catch {
    return '<unparseable URL>';
  }
}

/**
 * Why a string is not a usable URL, in words an operator can act on: the scheme, a port out of
 * range, or a malformed URL. Null when it parses with one of `protocols`.
 */
export function urlProblem(raw: string, protocols: readonly string[]): string | null {
  const expected = `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  const colon = raw.indexOf(':');
  const scheme = colon > 0 ? raw.slice(0, colon + 1).toLowerCase() : '';
  if (!protocols.includes(scheme) || !raw.startsWith('//', colon + 1)) return expected;
  try {
    new URL(raw);
    return null;
  } catch {
    const port = portOf(raw.slice(colon + 3));
    if (port !== null && (!/^\d+$/.test(port) || Number(port) > 65535))
      return `has port "${port}", which is not a port number from 1 to 65535`;
    return `is not a valid URL (${expected.slice('must be '.length)}, host, optional port and path)`;
  }
}

// The port of an authority (`user:pass@host:port/path`), or null when it names none.
function portOf(rest: string): string | null {
  let end = rest.length;
  for (const stop of ['/', '?', '#']) {
    const at = rest.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  const authority = rest.slice(0, end);
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  const bracket = host.lastIndexOf(']');
  const colon = host.lastIndexOf(':');
  if (colon < 0 || colon < bracket) return null;
  return host.slice(colon + 1);
}

/**
 * `text` with every secret it could carry replaced by `***`: the values of `secrets` (tokens,
 * client secrets) and the passwords of `urls`. The last line of defence for a start-up message
 * built from a driver's error, whose wording the gateway does not control.
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[], urls: readonly (string | undefined)[]): string {
  const values = new Set<string>();
  for (const secret of secrets) if (secret && secret.length >= 4) values.add(secret);
  for (const url of urls) {
    if (!url) continue;
    const sentinelPassword = /[?&]sentinelPassword=([^&#]*)/i.exec(url)?.[1];
    for (const password of [passwordOf(url), sentinelPassword ? safeDecode(sentinelPassword) : null]) {
      if (password && password.length >= 4) {
        values.add(password);
        values.add(encodeURIComponent(password));
      }
    }
  }
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const value of [...values].sort((a, b) => b.length - a.length)) out = out.replaceAll(value, '***');
  return out;
}

function passwordOf(raw: string): string | null {
  try {
    const password = new URL(raw).password;
    return password ? decodeURIComponent(password) : null;
  } catch {
    const start = raw.indexOf('//');
    if (start < 0) return null;
    const at = raw.lastIndexOf('@');
    if (at < start) return null;
    const userinfo = raw.slice(start + 2, at);
    const colon = userinfo.indexOf(':');
    return colon >= 0 ? userinfo.slice(colon + 1) : null;
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
