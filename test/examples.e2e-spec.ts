import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const run = promisify(execFile);
const RUN_PAIR = fileURLToPath(new URL('../dist/examples/run-pair.js', import.meta.url));
const RUN_A2A = fileURLToPath(new URL('../dist/examples/run-a2a.js', import.meta.url));

// The README's example, as a user runs it: a gateway with nothing configured (token auth), then
// `npm run example`, which provisions with the operator CLI and runs two agent processes.
describe('the example agent pair', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway({});
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('exchanges a message and its result through the gateway', async () => {
    const { stdout } = await run(process.execPath, [RUN_PAIR], {
      env: { ...process.env, GATEWAY_URL: gateway.url, DATABASE_URL: TEST_DATABASE_URL },
      timeout: 30_000,
    });
    expect(stdout).toContain('[responder] demo-requester says: hello from the requester');
    expect(stdout).toContain('[requester] result from demo-responder: {"upper":"HELLO FROM THE REQUESTER"}');
  }, 40_000);

  it('npm run example:a2a: the reference A2A client calls the socket.io responder through the gateway', async () => {
    const { stdout } = await run(process.execPath, [RUN_A2A], {
      env: { ...process.env, GATEWAY_URL: gateway.url, DATABASE_URL: TEST_DATABASE_URL },
      timeout: 30_000,
    });
    expect(stdout).toContain('[a2a-client] card of demo-responder: "Demo responder"');
    expect(stdout).toContain('[responder] demo-a2a-caller says: hello over A2A');
    expect(stdout).toMatch(/\[a2a-client\] task [0-9a-f-]+ ended TASK_STATE_COMPLETED: \{"upper":"HELLO OVER A2A"\}/);
  }, 40_000);
});
