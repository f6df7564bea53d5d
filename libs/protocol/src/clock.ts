let lastMs = -1;
let lastIso = '';

/**
 * `new Date().toISOString()`, formatted once per millisecond: under load many messages and their
 * audit records are stamped in the same millisecond, and formatting a date is one of the dearer
 * steps of a routed message.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
