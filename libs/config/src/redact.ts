/**
 * A connection URL fit for a log line or an error: the password is replaced by `***`.
 *
 * @example
 * redactUrl('postgresql://app:s3cret@db:5432/gw') // 'postgresql://app:***@db:5432/gw'
 */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable URL>';
  }
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
