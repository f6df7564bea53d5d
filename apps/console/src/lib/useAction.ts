import { useCallback, useState } from 'react';
import { describeError } from './api';

/**
 * Runs a change (a click, a form) and keeps its failure to show: `run` resolves true when the
 * change succeeded, and clears the previous failure when it starts.
 */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (change: () => Promise<unknown>): Promise<boolean> => {
    setError(null);
    try {
      await change();
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    }
  }, []);
  return { error, run };
}
