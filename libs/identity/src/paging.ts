import type { CursorCodec } from '#libs/protocol';

/** One page of a list: the items, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Paging parameters of a list endpoint; `cursor` is exactly what the client sent. */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** Default and largest page sizes. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Builds a page from `limit + 1` rows fetched in key order; the cursor names the last item's key. */
export function pageOf<T, K extends readonly unknown[]>(rows: T[], limit: number, cursor: CursorCodec<K>, keyOf: (row: T) => K): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursor.encode(...keyOf(last)) : null };
}
