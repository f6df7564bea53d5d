import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth } from './json-depth.js';

describe('exceedsJsonDepth', () => {
  it('counts arrays and objects, not scalars', () => {
    expect(exceedsJsonDepth('text', 0)).toBe(false);
    expect(exceedsJsonDepth(null, 0)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({ a: 1, b: 'x' }, 1)).toBe(false);
    expect(exceedsJsonDepth({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(exceedsJsonDepth({ a: [1, { b: 2 }] }, 3)).toBe(false);
  });

  it('walks 100 000 levels without recursing (JSON.stringify overflows the stack there)', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(exceedsJsonDepth(deep, 64)).toBe(true);
  });

  it('finds the deep branch among wide shallow ones', () => {
    let deep: unknown = {};
    for (let i = 0; i < 70; i++) deep = { next: deep };
    const wide = Array.from({ length: 1000 }, (_, i) => ({ i, tags: ['a', 'b'] }));
    expect(exceedsJsonDepth({ wide, deep }, 64)).toBe(true);
    expect(exceedsJsonDepth({ wide }, 64)).toBe(false);
  });
});
