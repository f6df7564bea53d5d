/**
 * Runs the Python example pair (examples/python/) against a gateway that is already started:
 * provisions two demo agents with the operator CLI (token auth), then starts the python-socketio
 * agent and the agent on the Python SDK (clients/python, plain WebSocket), each of which asks the
 * other a question and exchanges a topic message with it. Needs Debian's python3-socketio,
 * python3-websocket and python3-websockets.
 *
 *   npm run example:python     # GATEWAY_URL defaults to http://localhost:8700; PYTHON to Debian's python3
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GATEWAY_URL, provisionDemoAgent } from './provision.js';

const script = (name: string): string => fileURLToPath(new URL(`../../examples/python/${name}`, import.meta.url));
const sdk = fileURLToPath(new URL('../../clients/python/src', import.meta.url));
// Debian's interpreter has python3-websockets and python3-socketio; a pyenv python3 on PATH may not.
const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const ids = { sio: 'demo-py-socketio', ws: 'demo-py-websocket' };
const [sioToken, wsToken] = await Promise.all([provisionDemoAgent(ids.sio), provisionDemoAgent(ids.ws)]);

function start(name: string, agentId: string, token: string | undefined, peer: string): Promise<number> {
  const child = spawn(python, [script(name)], {
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: sdk, GATEWAY_URL, AGENT_ID: agentId, PEER_ID: peer, ...(token && { AGENT_TOKEN: token }) },
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

const codes = await Promise.all([
  start('socketio_agent.py', ids.sio, sioToken, ids.ws),
  start('websocket_agent.py', ids.ws, wsToken, ids.sio),
]);
process.exit(codes.every((code) => code === 0) ? 0 : 1);
