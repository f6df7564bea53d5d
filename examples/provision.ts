import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../apps/cli/src/main.js', import.meta.url));

/** The gateway the examples talk to (`npm start` listens here by default). */
export const GATEWAY_URL = process.env.GATEWAY_URL ?? 'http://localhost:8700';

/**
 * Registers a demo agent (tenant `demo`) with the operator CLI and issues it a one-hour token, when
 * the gateway uses `token` authentication; resolves with the token (undefined otherwise).
 */
export async function provisionDemoAgent(agentId: string): Promise<string | undefined> {
  const manifest = (await (await fetch(new URL('/gateway/manifest', GATEWAY_URL))).json()) as { auth_methods: string[] };
  if (!manifest.auth_methods.includes('token')) return undefined;
  await run(process.execPath, [cli, 'agent', 'create', agentId, '--tenant', 'demo', '--name', agentId, '--if-missing']);
  const { stdout } = await run(process.execPath, [cli, 'token', 'create', agentId, '--expires-in-s', '3600']);
  return (JSON.parse(stdout) as { token: string }).token;
}
