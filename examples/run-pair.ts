/**
 * Runs the example pair against a gateway that is already started (`npm start`):
 * provisions a demo tenant, two agents and their tokens with the operator CLI when the gateway
 * uses `token` authentication, then starts the responder and the requester as separate processes.
 *
 *   npm run example            # GATEWAY_URL defaults to http://localhost:8700
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const url = process.env.GATEWAY_URL ?? 'http://localhost:8700';
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const cli = here('../apps/cli/src/main.js');

async function provision(agentId: string): Promise<string> {
  await run(process.execPath, [cli, 'agent', 'create', agentId, '--tenant', 'demo', '--name', agentId, '--if-missing']);
  const { stdout } = await run(process.execPath, [cli, 'token', 'create', agentId, '--expires-in-s', '3600']);
  return (JSON.parse(stdout) as { token: string }).token;
}

function start(script: string, agentId: string, token: string | undefined): ReturnType<typeof spawn> {
  return spawn(process.execPath, [here(script)], {
    stdio: 'inherit',
    env: { ...process.env, GATEWAY_URL: url, AGENT_ID: agentId, ...(token && { AGENT_TOKEN: token }) },
  });
}

const manifest = (await (await fetch(new URL('/gateway/manifest', url))).json()) as { auth_methods: string[] };
const useTokens = manifest.auth_methods.includes('token');
const tokens = useTokens ? await Promise.all([provision('demo-responder'), provision('demo-requester')]) : [undefined, undefined];

const responder = start('./responder.js', 'demo-responder', tokens[0]);
await new Promise((resolve) => setTimeout(resolve, 1_500));
const requester = start('./requester.js', 'demo-requester', tokens[1]);
const code = await new Promise<number>((resolve) => requester.once('exit', (c) => resolve(c ?? 1)));
responder.kill('SIGTERM');
process.exit(code);
