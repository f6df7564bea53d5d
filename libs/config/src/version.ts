import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The gateway's version, from the project's package.json (found by walking up from this file). */
export function readVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  const root = projectRoot(from);
  return root ? (readPackage(root)?.version ?? '0.0.0') : '0.0.0';
}

/**
 * The directory of the project's package.json, walking up from this file (the sources and the
 * compiled `dist/` both sit under it); null when there is none.
 */
export function projectRoot(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (;;) {
    if (readPackage(dir)?.version) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function readPackage(dir: string): { version?: string } | null {
  const candidate = join(dir, 'package.json');
  if (!existsSync(candidate)) return null;
  const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
  return pkg.name === 'agent-gateway' ? pkg : null;
}
