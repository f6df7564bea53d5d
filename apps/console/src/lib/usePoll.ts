import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from './api';

/**
 * Loads with `load`, again on `reload()`, and every `intervalMs` while `live` is on. Keeps the last
 * good value while a refresh fails, with the failure beside it.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number | null, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    try {
      setData(await loadRef.current());
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, []);
  useEffect(() => {
    void reload();
    if (intervalMs === null) return;
    const timer = window.setInterval(() => void reload(), intervalMs);
    return () => window.clearInterval(timer);
  }, [reload, intervalMs, ...deps]);
  return { data, error, reload };
}
