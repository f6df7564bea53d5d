/**
 * True when `value` nests arrays and objects deeper than `maxDepth` (a scalar is depth 0, `{}` and
 * `[]` depth 1). Iterative, with an explicit stack, so it never recurses however deep the input:
 * it is the check that runs before anything that does (`JSON.stringify`, socket.io's encoder,
 * zod, Postgres's JSON), and it stops at the first level too deep.
 *
 * @example
 * exceedsJsonDepth({ a: [1, { b: 2 }] }, 2) // true: the object inside the array is at depth 3
 */
export function exceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return true;
    if (Array.isArray(current)) {
      for (const inner of current as unknown[]) {
        if (inner !== null && typeof inner === 'object') {
          values.push(inner);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in current) {
        const inner = (current as Record<string, unknown>)[key];
        if (inner !== null && typeof inner === 'object') {
          values.push(inner);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}
