/**
 * The admin API as the console calls it: same origin, the HttpOnly session cookie (never readable
 * here), and the session's CSRF token in `X-CSRF-Token` on every change. Every refusal becomes an
 * {@link ApiError} carrying the contract's `{ code, message }`.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Who is signed in (`GET /admin/session`). */
export interface AdminSession {
  subject: string;
  roles: ('admin' | 'operator' | 'auditor')[];
  tenant_id: string | null;
  kind: 'break_glass' | 'sso';
  expires_at: string | null;
  csrf_token: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

let csrfToken: string | null = null;

/** Remembers the CSRF token of the session (from `GET /admin/session`) for later changes. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const SAFE = new Set(['GET', 'HEAD']);

/** Dispatched on `window` when the API says the session is gone (expired, signed out elsewhere, token rotated). */
export const SESSION_ENDED = 'agw:session-ended';

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'UNAVAILABLE', 'the gateway cannot be reached');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below from the status.
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    if (response.status === 401 && csrfToken !== null) window.dispatchEvent(new Event(SESSION_ENDED));
    throw new ApiError(response.status, error?.code ?? 'UNAVAILABLE', error?.message ?? `HTTP ${response.status}`);
  }
  return json as T;
}

/** A query string of the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The message to show for any failure. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
