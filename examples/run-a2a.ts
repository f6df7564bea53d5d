/**
 * The A2A example, against a gateway that is already started (`npm start`): provisions a demo
 * responder (a socket.io agent, examples/responder.ts) and an A2A caller, starts the responder,
 * then calls it with the reference A2A client (examples/a2a-client.ts).
 *
 *   npm run example:a2a        # GATEWAY_URL defaults to http://localhost:8700
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GATEWAY_URL, provisionDemoAgent } from './provision.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function start(script: string, env: Record<string, string | undefined>): ReturnType<typeof spawn> {
  return spawn(process.execPath, [here(script)], { stdio: 'inherit', env: { ...process.env, GATEWAY_URL, ...env } });
}

const [responderToken, callerToken] = await Promise.all([provisionDemoAgent('demo-responder'), provisionDemoAgent('demo-a2a-caller')]);
const responder = start('./responder.js', { AGENT_ID: 'demo-responder', AGENT_TOKEN: responderToken });
await new Promise((resolve) => setTimeout(resolve, 1_500));
const caller = start('./a2a-client.js', { AGENT_ID: 'demo-a2a-caller', AGENT_TOKEN: callerToken, TARGET: 'demo-responder' });
const code = await new Promise<number>((resolve) => caller.once('exit', (c) => resolve(c ?? 1)));
responder.kill('SIGTERM');
process.exit(code);
