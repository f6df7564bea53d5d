/**
 * Where a validation message of the admin API points in a JSON text. The API names the faulty field
 * first (`rules[2].to.topic: applies to publish and subscribe…`); the console shows the message at
 * that field: the line and column of its key (or array element) in the editor's text.
 */

export type PathSegment = string | number;

/**
 * The field path and the rest of a message like `rules[0].effect: Invalid option`, or of
 * `unknown field "burst_size" in defaults` (the unknown key itself); null path when it names none.
 */
export function splitMessage(message: string): { path: PathSegment[] | null; text: string } {
  const unknown = /^unknown fields? "([^"]+)"(?:, "[^"]+")*(?: in (\S+))?$/.exec(message);
  if (unknown) return { path: [...(unknown[2] ? parsePath(unknown[2]) : []), unknown[1] as string], text: message };
  const colon = message.indexOf(': ');
  if (colon <= 0) return { path: null, text: message };
  const head = message.slice(0, colon);
  if (/\s/.test(head)) return { path: null, text: message };
  const path = parsePath(head);
  return path.length > 0 ? { path, text: message.slice(colon + 2) } : { path: null, text: message };
}

function parsePath(text: string): PathSegment[] {
  const path: PathSegment[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) path.push(match[2] !== undefined ? Number(match[2]) : (match[1] as string));
  return path;
}

/** A path as the API writes it: `rules[1].effect`. */
export function formatPath(path: PathSegment[]): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i > 0 ? '.' : ''}${segment}`)).join('');
}

/**
 * Re-joins dotted segments into the keys that really exist (`agents.planner.1.burst` where the agent
 * id is `planner.1`): the API joins keys with dots and does not quote them.
 */
export function resolvePath(document: unknown, path: PathSegment[]): PathSegment[] {
  const out: PathSegment[] = [];
  let node: unknown = document;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    if (typeof segment === 'number' || node === null || typeof node !== 'object' || Array.isArray(node)) {
      out.push(segment);
      node = Array.isArray(node) && typeof segment === 'number' ? node[segment] : undefined;
      continue;
    }
    const record = node as Record<string, unknown>;
    let key = String(segment);
    let j = i;
    // Longest key that exists, made of this and following segments.
    for (let k = path.length - 1; k > i; k--) {
      const joined = path.slice(i, k + 1).join('.');
      if (path.slice(i, k + 1).every((s) => typeof s === 'string') && joined in record) {
        key = joined;
        j = k;
        break;
      }
    }
    out.push(key);
    node = record[key];
    i = j;
  }
  return out;
}

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** 0-based character offset. */
  offset: number;
}

/**
 * The position of `path` in a JSON text: of the key naming its last segment, or the start of the
 * array element; the nearest existing ancestor when the field itself is absent (a required field
 * is reported at its object). Null when the text is not JSON.
 */
export function locatePath(text: string, path: PathSegment[]): TextPosition | null {
  const positions = new Map<string, number>();
  const key = (p: PathSegment[]) => JSON.stringify(p);
  let i = 0;
  const fail = (): never => {
    throw new SyntaxError('not JSON');
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const string = (): string => {
    const start = i;
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (at: PathSegment[]): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const keyStart = i;
        const name = string();
        positions.set(key([...at, name]), keyStart);
        ws();
        if (text[i] !== ':') fail();
        i++;
        value([...at, name]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        ws();
        positions.set(key([...at, n]), i);
        value([...at, n]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail();
      }
    } else if (c === '"') {
      string();
    } else {
      const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
      if (!literal) fail();
      i += (literal as RegExpExecArray)[0].length;
    }
  };
  try {
    positions.set(key([]), (ws(), i));
    value([]);
  } catch {
    return null;
  }
  for (let n = path.length; n >= 0; n--) {
    const offset = positions.get(key(path.slice(0, n)));
    if (offset !== undefined) return positionOf(text, offset);
  }
  return null;
}

function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1) ?? '').length + 1, offset };
}
