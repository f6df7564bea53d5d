import { describe, expect, it } from 'vitest';
import { formatPath, locatePath, resolvePath, splitMessage } from './json-path';

const POLICY = `{
  "rules": [
    {
      "effect": "allow",
      "actions": ["send"]
    },
    {
      "effect": "maybe",
      "actions": ["send"]
    }
  ]
}`;

describe('splitMessage', () => {
  it('reads the field path of an admin API validation message', () => {
    expect(splitMessage('rules[1].effect: Invalid option: expected one of "allow"|"deny"')).toEqual({
      path: ['rules', 1, 'effect'],
      text: 'Invalid option: expected one of "allow"|"deny"',
    });
    expect(splitMessage('defaults.burst: Too small')).toEqual({ path: ['defaults', 'burst'], text: 'Too small' });
  });

  it('points an unknown field at the key itself', () => {
    expect(splitMessage('unknown field "burst_size" in defaults').path).toEqual(['defaults', 'burst_size']);
    expect(splitMessage('unknown fields "a", "b" in tenants.acme').path).toEqual(['tenants', 'acme', 'a']);
    expect(splitMessage('unknown field "extra"').path).toEqual(['extra']);
  });

  it('writes a path back as the API does', () => {
    expect(formatPath(['rules', 1, 'to', 'topic'])).toBe('rules[1].to.topic');
  });

  it('finds no path in a message that names none', () => {
    expect(splitMessage('invalid policy document')).toEqual({ path: null, text: 'invalid policy document' });
    expect(splitMessage('a document may hold: ten')).toEqual({ path: null, text: 'a document may hold: ten' });
  });
});

describe('resolvePath', () => {
  it('joins dotted segments back into keys that contain dots', () => {
    const doc = { agents: { 'planner.1': { burst: 1 } } };
    expect(resolvePath(doc, ['agents', 'planner', '1', 'burst'])).toEqual(['agents', 'planner.1', 'burst']);
    expect(resolvePath(doc, ['agents', 'absent'])).toEqual(['agents', 'absent']);
  });
});

describe('locatePath', () => {
  it('finds the line and column of the named key', () => {
    expect(locatePath(POLICY, ['rules', 1, 'effect'])).toMatchObject({ line: 8, column: 7 });
    expect(locatePath(POLICY, ['rules', 0])).toMatchObject({ line: 3, column: 5 });
  });

  it('falls back to the nearest field that exists, and to nothing in text that is not JSON', () => {
    expect(locatePath(POLICY, ['rules', 1, 'from', 'agent_id'])).toMatchObject({ line: 8 - 1 });
    expect(locatePath(POLICY, ['nothing'])).toMatchObject({ line: 1, column: 1 });
    expect(locatePath('{"rules": [', ['rules'])).toBeNull();
  });

  it('reads escaped strings without losing its place', () => {
    const text = '{"a\\"b": 1,\n "c": "x\\\\"}';
    expect(locatePath(text, ['c'])).toMatchObject({ line: 2, column: 2 });
  });
});
