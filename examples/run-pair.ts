/**
 * Runs the example pair against a gateway that is already started (`npm start`):
 * provisions a demo tenant, two agents and their tokens with the operator CLI when the gateway
 * uses `token` authentication, then starts the responder and the requester as separate processes.
 *
 *   npm run example            # GATEWAY_URL defaults to http://localhost:8700
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GATEWAY_URL, provisionDemoAgent } from './provision.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function start(script: string, agentId: string, token: string | undefined): ReturnType<typeof spawn> {
  return spawn(process.execPath, [here(script)], {
    stdio: 'inherit',
    env: { ...process.env, GATEWAY_URL, AGENT_ID: agentId, ...(token && { AGENT_TOKEN: token }) },
  });
}

const tokens = await Promise.all([provisionDemoAgent('demo-responder'), provisionDemoAgent('demo-requester')]);
const responder = start('./responder.js', 'demo-responder', tokens[0]);
await new Promise((resolve) => setTimeout(resolve, 1_500));
const requester = start('./requester.js', 'demo-requester', tokens[1]);
const code = await new Promise<number>((resolve) => requester.once('exit', (c) => resolve(c ?? 1)));
responder.kill('SIGTERM');
process.exit(code);
