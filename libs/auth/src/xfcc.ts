/** One element of an `X-Forwarded-Client-Cert` header: the key/value pairs Envoy sets. */
export type XfccElement = Record<string, string>;

/**
 * Parses Envoy's `X-Forwarded-Client-Cert` header: elements separated by `,`, each a list of
 * `Key=Value` pairs separated by `;`. Values may be double-quoted (with `\"` escapes), which is
 * how `Subject="CN=a,OU=b"` keeps its commas. Keys are case-insensitive and returned lower-cased;
 * `URI` and `DNS` may repeat and are joined with `,`.
 *
 * @example
 * parseXfcc('Hash=ab12;URI=spiffe://corp/agent/a;Subject="CN=a"') // [{ hash: 'ab12', uri: 'spiffe://corp/agent/a', subject: 'CN=a' }]
 */
export function parseXfcc(header: string): XfccElement[] {
  const elements: XfccElement[] = [];
  let element: XfccElement = {};
  let key = '';
  let value = '';
  let inKey = true;
  let quoted = false;
  const endPair = (): void => {
    const k = key.trim().toLowerCase();
    if (k) element[k] = element[k] !== undefined && (k === 'uri' || k === 'dns') ? `${element[k]},${value}` : value;
    key = '';
    value = '';
    inKey = true;
  };
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (quoted) {
      if (c === '\\' && i + 1 < header.length) value += header[++i];
      else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"' && !inKey) {
      quoted = true;
    } else if (c === '=' && inKey) {
      inKey = false;
    } else if (c === ';') {
      endPair();
    } else if (c === ',') {
      endPair();
      if (Object.keys(element).length > 0) elements.push(element);
      element = {};
    } else if (inKey) {
      key += c;
    } else {
      value += c;
    }
  }
  endPair();
  if (Object.keys(element).length > 0) elements.push(element);
  return elements;
}
