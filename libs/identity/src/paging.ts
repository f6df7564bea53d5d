import { GatewayError } from '#libs/protocol';

/** One page of a list: the items, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Paging parameters of a list endpoint. */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** Default and largest page sizes. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Cursors are opaque to clients: the sort key of the last item, base64url-encoded. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || encodeCursor(key) !== cursor) throw new GatewayError('INVALID_MESSAGE', 'cursor: not a cursor this API returned');
  return key;
}

/** Builds a page from `limit + 1` rows fetched in key order. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
