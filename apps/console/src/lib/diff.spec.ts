import { describe, expect, it } from 'vitest';
import { diffLines, hasChanges, normalizeJson } from './diff';

describe('diffLines', () => {
  it('marks a changed line as removed then added, keeping the lines around it', () => {
    expect(diffLines('a\nb\nc', 'a\nB\nc')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
    ]);
  });

  it('finds insertions and deletions anywhere, and no change in equal texts', () => {
    expect(diffLines('a\nc', 'a\nb\nc').filter((l) => l.kind !== 'same')).toEqual([{ kind: 'added', text: 'b' }]);
    expect(diffLines('x\na\nc', 'a\nc').filter((l) => l.kind !== 'same')).toEqual([{ kind: 'removed', text: 'x' }]);
    expect(hasChanges(diffLines('a\nb', 'a\nb'))).toBe(false);
    expect(diffLines('', 'a')).toEqual([{ kind: 'added', text: 'a' }]);
  });

  it('compares texts over the line limit as a whole', () => {
    expect(diffLines('a\nb\nc', 'a\nb\nd', 2).map((l) => l.kind)).toEqual(['removed', 'removed', 'removed', 'added', 'added', 'added']);
  });
});

describe('normalizeJson', () => {
  it('indents JSON by two spaces and leaves other text alone', () => {
    expect(normalizeJson('{"rules":[]}')).toBe('{\n  "rules": []\n}');
    expect(normalizeJson('{"rules":')).toBe('{"rules":');
  });
});
